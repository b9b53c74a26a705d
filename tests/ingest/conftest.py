"""Ingest fixtures: a committed database of its own and the app with its runtime (writer, token
cache, LISTEN) really running, since group commit and invalidation need real connections."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from services.ingest.main import IngestApp, build_app
from services.ingest.settings import IngestSettings
from shared.db import plain_url
from shared.tokens import issue_device_token
from tests.conftest import scratch_database


@dataclass
class Device:
    id: uuid.UUID
    code: str
    token: str


async def add_camera(
    conn: asyncpg.Connection, *, lifecycle: str = "active", gateway_id: uuid.UUID | None = None
) -> Device:
    """A committed camera with a live device token."""
    camera_id = uuid.uuid4()
    code = f"TST-{camera_id.hex[:10]}"
    await conn.execute(
        "INSERT INTO camera (id, code, name, latitude, longitude, district, lifecycle, gateway_id)"
        " VALUES ($1, $2, 'test camera', 10.8, 106.7, 'BTH', $3, $4)",
        camera_id,
        code,
        lifecycle,
        gateway_id,
    )
    token = issue_device_token()
    await conn.execute(
        "INSERT INTO device_credential (id, token_hash, prefix, camera_id) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        token.hash,
        token.prefix,
        camera_id,
    )
    return Device(camera_id, code, token.secret)


async def missing_acked(conn: asyncpg.Connection, acked: list[tuple[object, datetime]]) -> int:
    """How many acknowledged (camera, received_at) heartbeats are not in the database."""
    if not acked:
        return 0
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM unnest($1::uuid[], $2::timestamptz[]) AS a(camera_id, received_at)"
            " WHERE NOT EXISTS (SELECT 1 FROM heartbeat h"
            "   WHERE h.camera_id = a.camera_id AND h.received_at = a.received_at)",
            [a[0] for a in acked],
            [a[1] for a in acked],
        )
    )


async def add_gateway(conn: asyncpg.Connection, *, lifecycle: str = "active") -> Device:
    """A committed gateway with a live device token."""
    gateway_id = uuid.uuid4()
    code = f"GW-{gateway_id.hex[:10]}"
    await conn.execute(
        "INSERT INTO gateway (id, code, name, district, lifecycle) VALUES ($1, $2, 'test gateway', 'BTH', $3)",
        gateway_id,
        code,
        lifecycle,
    )
    token = issue_device_token()
    await conn.execute(
        "INSERT INTO device_credential (id, token_hash, prefix, gateway_id) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        token.hash,
        token.prefix,
        gateway_id,
    )
    return Device(gateway_id, code, token.secret)


@pytest.fixture(scope="session")
async def live_url() -> AsyncIterator[str]:
    """A database of the ingest tests' own, migrated, whose rows are really committed."""
    async with scratch_database("ingest_live") as url:
        yield url


@pytest.fixture
async def db(live_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the live database (autocommit)."""
    conn = await asyncpg.connect(plain_url(live_url))
    yield conn
    await conn.close()


async def wait_until_running(app: IngestApp, timeout: float = 10.0) -> None:
    """Until the writer is connected and the cache listens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    runtime = app.state.ingest
    while not (runtime.writer.healthy and runtime.cache.listening):
        if loop.time() > deadline:
            raise TimeoutError("the ingest runtime did not start")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running_app(url: str, **overrides: Any) -> AsyncIterator[tuple[IngestApp, httpx.AsyncClient]]:
    """The ingest app with its lifespan running against url, and a client for it."""
    app = build_app(url, IngestSettings(**{"gc_tuning": False, **overrides}))
    assert isinstance(app, IngestApp)
    async with app.router.lifespan_context(app):
        await wait_until_running(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield app, client


@pytest.fixture
def live_app(live_url: str) -> Callable[..., Any]:
    """running_app bound to the live database."""

    def make(**overrides: Any) -> Any:
        return running_app(live_url, **overrides)

    return make


@pytest.fixture(scope="module")
async def live(live_url: str) -> AsyncIterator[tuple[IngestApp, httpx.AsyncClient]]:
    """The running app with default settings (one per module; each test uses its own cameras)."""
    async with running_app(live_url) as pair:
        yield pair


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


AddCamera = Callable[..., Awaitable[Device]]
