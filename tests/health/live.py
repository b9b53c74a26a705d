"""Helpers for tests that need committed data on real connections: a scratch database and real servers."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import make_engine
from tests.conftest import scratch_database

TABLES = (
    "webhook_delivery, webhook, incident, status_event, camera_health, health_meta, camera_state,"
    " camera, gateway, api_key"
)


async def wipe(engine: AsyncEngine) -> None:
    """Empty every table a live test writes (the scratch database is shared by the module)."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


@contextlib.asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[uvicorn.Server]:
    """Run an ASGI app with uvicorn on 127.0.0.1:port inside this event loop."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
async def live_url() -> AsyncIterator[str]:
    async with scratch_database("live") as url:
        yield url


@pytest.fixture
async def live(live_url):
    engine = make_engine(live_url, application_name="citycam-tests-live")
    yield engine
    await wipe(engine)
    await engine.dispose()


async def add_live_camera(engine, code: str, interval: int = 5, heard_ago_s: float | None = None) -> uuid.UUID:
    camera_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s)"
                " VALUES (:id, :code, :code, 10.78, 106.70, 'Q1', :interval)"
            ),
            {"id": camera_id, "code": code, "interval": interval},
        )
        if heard_ago_s is not None:
            await conn.execute(
                text(
                    "INSERT INTO camera_state (camera_id, received_at)"
                    " VALUES (:id, clock_timestamp() - :ago * interval '1 second')"
                ),
                {"id": camera_id, "ago": heard_ago_s},
            )
    return camera_id


async def wait_for(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(step)
    return None
