"""Server-Sent Events on a real server: resume with Last-Event-ID, keep-alives, one LISTEN connection
for many clients."""

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import text

from services.health.settings import get_health_settings
from shared.db import make_engine
from shared.tokens import issue_api_key
from tests.health.live import add_live_camera, serve
from tests.helpers import bearer, free_port


@pytest.fixture
async def health_server(live, live_url, monkeypatch):
    monkeypatch.setenv("CITYCAM_HEALTH_EVALUATOR_ENABLED", "false")
    monkeypatch.setenv("CITYCAM_HEALTH_WEBHOOKS_ENABLED", "false")
    monkeypatch.setenv("CITYCAM_HEALTH_SSE_KEEPALIVE_S", "0.5")
    get_health_settings.cache_clear()
    from services.health.main import build_app

    app = build_app(engine_factory=lambda: make_engine(live_url, application_name="citycam-health-test"))
    issued = issue_api_key()
    async with live.begin() as conn:
        await conn.execute(
            text("INSERT INTO api_key (id, name, role, prefix, key_hash) VALUES (:id, 'sse', 'monitor', :p, :h)"),
            {"id": uuid.uuid4(), "p": issued.prefix, "h": issued.hash},
        )
    port = free_port()
    try:
        async with serve(app, port):
            yield f"http://127.0.0.1:{port}", issued.secret
    finally:
        get_health_settings.cache_clear()


async def _emit(engine, camera_id: uuid.UUID, to: str) -> int:
    async with engine.begin() as conn:
        event_id = (
            await conn.execute(
                text(
                    "INSERT INTO status_event (camera_id, code, district, to_status, reason, at)"
                    " VALUES (:c, 'Q1-SSE', 'Q1', :to, 'test', clock_timestamp()) RETURNING id"
                ),
                {"c": camera_id, "to": to},
            )
        ).scalar_one()
        await conn.execute(
            text("SELECT pg_notify('citycam_status_event', json_build_object('id', CAST(:id AS bigint))::text)"),
            {"id": event_id},
        )
    return event_id


class Lines:
    """One line iterator per streamed response (httpx streams can be iterated once)."""

    def __init__(self, response: httpx.Response) -> None:
        self.it = response.aiter_lines()

    def __aiter__(self):
        return self

    async def __anext__(self) -> str:
        return await anext(self.it)


async def _read_events(lines: Lines, n: int, timeout: float = 10.0) -> tuple[list[int], list[str]]:
    """The ids of the next n transitions (the opening event: connected is not one), and the comments."""
    ids: list[int] = []
    comments: list[str] = []

    async def read() -> None:
        kind = ""
        async for line in lines:
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("id: ") and kind == "status":
                ids.append(int(line[4:]))
                if len(ids) == n:
                    return
            elif line.startswith(":"):
                comments.append(line)

    await asyncio.wait_for(read(), timeout)
    return ids, comments


async def test_sse_resumes_with_last_event_id_without_losing_events(live, health_server) -> None:
    base, key = health_server
    camera_id = await add_live_camera(live, "Q1-SSE")
    first = [await _emit(live, camera_id, s) for s in ("online", "degraded", "offline")]
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        async with client.stream("GET", "/v1/health/stream", headers={**bearer(key), "Last-Event-ID": "0"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            got, _ = await _read_events(Lines(r), 2)
        assert got == first[:2]
        # Disconnected: two more transitions happen meanwhile.
        missed = [await _emit(live, camera_id, s) for s in ("online", "offline")]
        headers = {**bearer(key), "Last-Event-ID": str(got[-1])}
        async with client.stream("GET", "/v1/health/stream", headers=headers) as r:
            lines = Lines(r)
            resumed, _ = await _read_events(lines, 3)
            assert resumed == [first[2], *missed]
            live_id = await _emit(live, camera_id, "online")
            more, _ = await _read_events(lines, 1)
            assert more == [live_id]


async def test_sse_sends_keep_alives_and_holds_no_session(live, health_server) -> None:
    base, key = health_server
    client = httpx.AsyncClient(base_url=base, timeout=10)
    async with client, client.stream("GET", "/v1/health/stream", headers=bearer(key)) as r:
        lines: list[str] = []

        async def read() -> None:
            async for line in r.aiter_lines():
                lines.append(line)
                if line == ": keep-alive":
                    return

        await asyncio.wait_for(read(), 5)
        async with live.connect() as conn:
            busy = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'citycam-health-test'"
                        " AND state LIKE 'idle in transaction%'"
                    )
                )
            ).scalar_one()
        assert busy == 0
    assert ": keep-alive" in lines


async def test_many_stream_clients_share_one_listen_connection(live, health_server) -> None:
    base, key = health_server
    camera_id = await add_live_camera(live, "Q1-SSE")
    client = httpx.AsyncClient(base_url=base, timeout=10)
    async with (
        client,
        client.stream("GET", "/v1/health/stream", headers=bearer(key)) as r1,
        client.stream("GET", "/v1/health/stream", headers=bearer(key)) as r2,
        client.stream("GET", "/v1/health/stream", headers=bearer(key)) as r3,
    ):
        await asyncio.sleep(0.3)
        event_id = await _emit(live, camera_id, "offline")
        for r in (r1, r2, r3):
            assert (await _read_events(Lines(r), 1))[0] == [event_id]
        async with live.connect() as conn:
            listeners = (
                await conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'citycam-health-sse'")
                )
            ).scalar_one()
        assert listeners == 1


async def test_an_ack_goes_out_on_the_stream_as_an_incident_message(live, health_server) -> None:
    base, key = health_server
    operator = issue_api_key()
    async with live.begin() as conn:
        incident_id = (
            await conn.execute(
                text(
                    "INSERT INTO incident (kind, scope, district, state, cause, opened_at)"
                    " VALUES ('district', 'Q1', 'Q1', 'open', 'power', now()) RETURNING id"
                )
            )
        ).scalar_one()
        await conn.execute(
            text("INSERT INTO api_key (id, name, role, prefix, key_hash) VALUES (:id, 'op', 'operator', :p, :h)"),
            {"id": uuid.uuid4(), "p": operator.prefix, "h": operator.hash},
        )
    client = httpx.AsyncClient(base_url=base, timeout=10)
    async with client, client.stream("GET", "/v1/health/stream", headers=bearer(key)) as r:
        lines = Lines(r)
        await anext(lines)  # subscribed once the first line arrives
        acked = await client.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(operator.secret))
        assert acked.status_code == 200

        async def message() -> list[str]:
            got: list[str] = []
            async for line in lines:
                if line.startswith("event: incident") or got:
                    got.append(line)
                if line == "" and got:
                    return got
            return got

        got = await asyncio.wait_for(message(), 10)
    assert got[0] == "event: incident"
    assert not any(line.startswith("id:") for line in got)
    assert f'"id":{incident_id}' in got[1] and '"acked_by":"op"' in got[1]


async def test_the_stream_opens_with_its_position_so_an_early_drop_loses_nothing(live, health_server) -> None:
    base, key = health_server
    camera_id = await add_live_camera(live, "Q1-SSE")
    before = await _emit(live, camera_id, "online")
    client = httpx.AsyncClient(base_url=base, timeout=10)
    async with client, client.stream("GET", "/v1/health/stream", headers=bearer(key)) as r:
        head: list[str] = []
        async for line in r.aiter_lines():
            head.append(line)
            if line.startswith("data: "):
                break
    assert head[-3:] == ["event: connected", f"id: {before}", f'data: {{"last_event_id":{before}}}']
