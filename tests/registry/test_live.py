"""Behaviour that needs committed data on real connections: the ETag race and LISTEN/NOTIFY delivery.

These run against their own database (never the shared, rolled-back one) and a registry app whose
sessions really commit.
"""

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

from services.registry.main import app as registry_app
from services.registry.router import router
from shared.app import create_app
from shared.db import get_session, make_engine, make_sessionmaker, plain_url
from shared.models import ApiKey, CameraChange
from shared.notify import DEVICE_CHANGED
from shared.tokens import issue_api_key
from tests.conftest import bind_app, scratch_database
from tests.helpers import bearer, camera


@pytest.fixture(scope="module")
async def live_url() -> AsyncIterator[str]:
    async with scratch_database("registry_live") as url:
        yield url


@pytest.fixture
async def live(live_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A registry app on the live database (real commits) and an admin key for it."""
    engine = make_engine(live_url, pool_size=20, max_overflow=40, pool_timeout=30)
    sessionmaker = make_sessionmaker(engine)
    app = create_app(service="registry", title="registry (live test)", description="", routers=[router])
    bind_app(app, engine, sessionmaker)
    app.dependency_overrides.pop(get_session)  # the real per-request session, committing for real
    issued = issue_api_key()
    async with sessionmaker() as session:
        session.add(ApiKey(name="live-admin", role="admin", prefix=issued.prefix, key_hash=issued.hash))
        await session.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://live") as client:
        yield client, bearer(issued.secret)
    await engine.dispose()


async def test_fifty_concurrent_patches_with_one_etag_make_exactly_one_change(live, live_url) -> None:
    client, admin = live
    made = (await client.post("/v1/cameras", json=camera(code="RACE-1"), headers=admin)).json()
    etag = (await client.get("/v1/cameras/RACE-1", headers=admin)).headers["etag"]
    replies = await asyncio.gather(
        *(
            client.patch("/v1/cameras/RACE-1", json={"name": f"writer {i}"}, headers={**admin, "If-Match": etag})
            for i in range(50)
        )
    )
    statuses = sorted(r.status_code for r in replies)
    assert statuses.count(200) == 1
    assert statuses.count(412) == 49
    after = (await client.get("/v1/cameras/RACE-1", headers=admin)).json()
    assert after["version"] == made["version"] + 1
    winner = next(r for r in replies if r.status_code == 200).json()["name"]
    assert after["name"] == winner
    engine = make_engine(live_url)
    try:
        async with make_sessionmaker(engine)() as session:
            updates = await session.scalar(
                select(func.count()).where(CameraChange.camera_id == made["id"], CameraChange.action == "update")
            )
    finally:
        await engine.dispose()
    assert updates == 1


async def _listen(url: str) -> tuple[asyncpg.Connection, asyncio.Queue[dict[str, str]]]:
    conn = await asyncpg.connect(plain_url(url))
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await conn.add_listener(DEVICE_CHANGED, lambda *args: queue.put_nowait(json.loads(args[3])))
    return conn, queue


async def _next(queue: asyncio.Queue[dict[str, str]]) -> dict[str, str]:
    return await asyncio.wait_for(queue.get(), timeout=2)


async def test_device_changes_are_notified_on_commit(live, live_url) -> None:
    client, admin = live
    conn, queue = await _listen(live_url)
    try:
        made = (await client.post("/v1/cameras", json=camera(code="NOTIFY-1"), headers=admin)).json()
        await client.post("/v1/cameras/NOTIFY-1/rotate-token", headers=admin)
        assert await _next(queue) == {"kind": "camera", "id": made["id"]}
        await client.patch("/v1/cameras/NOTIFY-1", json={"heartbeat_interval_s": 10}, headers=admin)
        assert await _next(queue) == {"kind": "camera", "id": made["id"]}
        await client.delete("/v1/cameras/NOTIFY-1", headers=admin)
        assert await _next(queue) == {"kind": "camera", "id": made["id"]}
        gw = (
            await client.post("/v1/gateways", json={"code": "GW-N", "name": "n", "district": "BTH"}, headers=admin)
        ).json()
        await client.post("/v1/gateways/GW-N/revoke-token", headers=admin)
        assert await _next(queue) == {"kind": "gateway", "id": gw["id"]}
        await client.delete("/v1/gateways/GW-N", headers=admin)
        assert await _next(queue) == {"kind": "gateway", "id": gw["id"]}
    finally:
        await conn.close()


async def test_a_refused_change_notifies_nothing(live, live_url) -> None:
    client, admin = live
    await client.post("/v1/cameras", json=camera(code="NOTIFY-2"), headers=admin)
    conn, queue = await _listen(live_url)
    try:
        r = await client.patch("/v1/cameras/NOTIFY-2", json={"name": "x"}, headers={**admin, "If-Match": '"stale"'})
        assert r.status_code == 412
        r = await client.patch("/v1/cameras/NOTIFY-2", json={"district": "NOPE"}, headers=admin)
        assert r.status_code == 422
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(queue.get(), timeout=0.5)
    finally:
        await conn.close()


async def test_import_notifies_updated_cameras(live, live_url) -> None:
    client, admin = live
    made = (await client.post("/v1/cameras", json=camera(code="NOTIFY-3"), headers=admin)).json()
    conn, queue = await _listen(live_url)
    try:
        r = await client.post(
            "/v1/cameras/import",
            content=b"code,lifecycle\nNOTIFY-3,maintenance\n",
            headers={**admin, "content-type": "text/csv"},
        )
        assert r.json()["updated"] == 1
        assert await _next(queue) == {"kind": "camera", "id": made["id"]}
    finally:
        await conn.close()


def test_the_service_app_raises_the_body_limit_for_imports_only() -> None:
    limits = [m.kwargs.get("path_limits") for m in registry_app.user_middleware if "path_limits" in m.kwargs]
    assert limits and limits[0][0][0] == "/v1/cameras/import"
    assert limits[0][0][1] > 1024 * 1024
