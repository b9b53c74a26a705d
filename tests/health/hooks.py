"""Webhook test helpers: a loopback receiver, a scratch database with committed data, a subscription and a
camera going offline."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import text

from services.health import delivery, dispatcher, subscriptions
from services.health.evaluator import one_pass
from services.health.settings import HealthSettings, get_health_settings
from shared.db import make_engine, make_sessionmaker
from tests.conftest import scratch_database
from tests.health.live import serve, wipe
from tests.helpers import free_port

HOOK = {"name": "ops wall", "url": "https://93.184.216.34/hooks/citycam"}


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests.append((dict(request.headers), await request.body()))
            if len(self.requests) <= self.fail_first:
                return Response(status_code=503)
            return Response(status_code=204)


@pytest.fixture(scope="module")
async def hooks_url() -> AsyncIterator[str]:
    async with scratch_database("hooks") as url:
        yield url


@pytest.fixture
async def world(hooks_url, monkeypatch):
    monkeypatch.setenv("CITYCAM_HEALTH_WEBHOOK_ALLOW_PRIVATE", "true")
    get_health_settings.cache_clear()
    engine = make_engine(hooks_url, application_name="citycam-tests-hooks")
    receiver = Receiver()
    port = free_port()
    async with serve(receiver.app, port):
        yield engine, make_sessionmaker(engine), receiver, f"http://127.0.0.1:{port}/hook"
    await wipe(engine)
    await engine.dispose()
    get_health_settings.cache_clear()


async def subscribe(sessionmaker, url: str, **kwargs) -> tuple[uuid.UUID, str]:
    from services.health.schemas import WebhookCreate
    from shared.auth import Principal

    principal = Principal(key_id=uuid.uuid4(), name="test", role="admin", districts=None)
    async with sessionmaker() as session:
        created = await subscriptions.create_webhook(
            session, data=WebhookCreate(name="t", url=url, **kwargs), principal=principal
        )
        await session.commit()
    return created.id, created.secret


async def camera_goes_offline(sessionmaker, s: HealthSettings) -> None:
    async with sessionmaker() as session:
        camera_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s)"
                " VALUES (:id, 'Q1-HOOK', 'hook', 10.78, 106.7, 'Q1', 5)"
            ),
            {"id": camera_id},
        )
        await session.execute(
            text("INSERT INTO camera_state (camera_id, received_at) VALUES (:id, clock_timestamp())"),
            {"id": camera_id},
        )
        await one_pass(session, settings=s)
        await session.commit()
        await session.execute(
            text("UPDATE camera_state SET received_at = received_at - interval '1 minute' WHERE camera_id = :id"),
            {"id": camera_id},
        )
        await one_pass(session, settings=s)
        await session.commit()


async def deliver_until(sessionmaker, s, done, rounds=40):
    async with delivery.make_client(s) as client:
        for _ in range(rounds):
            await dispatcher.deliver_due(sessionmaker, client, s)
            if await done():
                return True
            await asyncio.sleep(0.05)
    return False


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A raw TCP server on 127.0.0.1 (a free port, yielded) running handler per connection; its
    connections are cancelled on the way out."""
    tasks: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(run, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    await reader.readexactly(length)


def slowloris(every_s: float = 4.0) -> Handler:
    """A receiver that answers one byte every `every_s` seconds: each read is quick, the answer never ends."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every_s)

    return handle


async def endless_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A receiver that accepts at once and then sends a body that never ends."""
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
    chunk = b"x" * 65536
    while True:
        writer.write(chunk)
        await writer.drain()
