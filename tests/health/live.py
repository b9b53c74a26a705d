"""Helpers for tests that need committed data on real connections: a scratch database and real servers."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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
