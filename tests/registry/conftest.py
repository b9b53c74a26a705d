"""Registry fixtures: keys per role and a camera factory over the API."""

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
