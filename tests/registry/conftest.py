"""Registry fixtures: keys per role, a camera factory over the API and a small fleet to filter."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.helpers import bearer, camera


@pytest.fixture
async def admin(make_key: Callable[..., Awaitable[str]]) -> dict[str, str]:
    """Authorization header of an admin key."""
    return bearer(await make_key("admin"))


@pytest.fixture
def create(registry: httpx.AsyncClient, admin: dict[str, str]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Register a camera as admin and return the reply body."""

    async def make(**overrides: Any) -> dict[str, Any]:
        response = await registry.post("/v1/cameras", json=camera(**overrides), headers=admin)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make


# Four cameras that differ in every filter the list and the export take.
FLEET = [
    dict(
        code="BTH-0001",
        name="Cầu Sài Gòn",
        district="BTH",
        kind="ptz",
        vendor="Hikvision",
        model="A1",
        latitude=10.7985,
        longitude=106.7240,
        tags=["bridge"],
        owner="Sở GTVT",
        lifecycle="active",
    ),
    dict(
        code="BTH-0002",
        name="Ngã tư Hàng Xanh",
        district="BTH",
        kind="fixed",
        vendor="Dahua",
        model="B2",
        latitude=10.8010,
        longitude=106.7110,
        tags=["junction"],
        owner="Công an",
        lifecycle="maintenance",
        road="Đường Điện Biên Phủ",
    ),
    dict(
        code="Q1-0001",
        name="Bến Thành",
        district="Q1",
        kind="ptz",
        vendor="Hikvision",
        model="B2",
        latitude=10.7721,
        longitude=106.6983,
        tags=["market", "bridge"],
        owner="Sở GTVT",
        lifecycle="active",
        address="Chợ Bến Thành, Lê Lợi",
    ),
    dict(
        code="TDU-0001",
        name="Nút giao Thủ Đức",
        district="TDU",
        kind="anpr",
        vendor="Axis",
        model="C3",
        latitude=10.8500,
        longitude=106.7720,
        tags=[],
        owner="UBND",
        lifecycle="planned",
    ),
]


@pytest.fixture
async def fleet(create: Callable[..., Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The FLEET, registered."""
    return [await create(**{k: v for k, v in cam.items() if v is not None}) for cam in FLEET]
