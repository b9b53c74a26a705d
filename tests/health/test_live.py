"""Real time on real connections: offline timing through the running evaluator, leader fail-over, SSE resume."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from services.health.evaluator import LOCK_KEY, Evaluator
from services.health.settings import HealthSettings, get_health_settings
from shared.db import make_engine
from shared.tokens import issue_api_key
from tests.conftest import scratch_database
from tests.health.live import serve, wipe
from tests.helpers import bearer, free_port


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


async def _camera(engine, code: str, interval: int = 5, heard_ago_s: float | None = None) -> uuid.UUID:
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


async def _wait_for(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(step)
    return None


FAST = {"evaluate_every_s": 0.25, "leader_retry_s": 0.2}


async def test_running_evaluator_flips_offline_at_fifteen_seconds_and_records_within_two(live, live_url) -> None:
    camera_id = await _camera(live, "Q1-LIVE", interval=5, heard_ago_s=13.0)
    evaluator = Evaluator(live_url, HealthSettings(**FAST), name="t-timing")
    task = asyncio.create_task(evaluator.run())
    try:

        async def offline_event():
            async with live.connect() as conn:
                return (
                    await conn.execute(
                        text(
                            "SELECT e.at, e.recorded_at, s.received_at FROM status_event e"
                            " JOIN camera_state s USING (camera_id)"
                            " WHERE e.camera_id = :id AND e.to_status = 'offline'"
                        ),
                        {"id": camera_id},
                    )
                ).first()

        row = await _wait_for(offline_event, timeout=8)
    finally:
        evaluator.stop()
        await task
    assert row is not None, "no offline transition recorded"
    assert row.at == row.received_at + timedelta(seconds=15)
    assert row.recorded_at >= row.at, "flipped before the threshold"
    assert row.recorded_at - row.at <= timedelta(seconds=2)


async def _lock_holders(engine) -> int:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": LOCK_KEY},
            )
        ).scalar_one()


async def test_one_leader_and_fail_over_when_it_dies(live, live_url) -> None:
    await _camera(live, "Q1-FO", interval=30, heard_ago_s=1.0)
    a = Evaluator(live_url, HealthSettings(**FAST), name="replica-a")
    b = Evaluator(live_url, HealthSettings(**FAST), name="replica-b")
    tasks = {a: asyncio.create_task(a.run()), b: asyncio.create_task(b.run())}
    try:

        async def elected():
            return a.is_leader or b.is_leader

        assert await _wait_for(elected, timeout=5)
        await asyncio.sleep(0.6)
        assert [a.is_leader, b.is_leader].count(True) == 1
        assert await _lock_holders(live) == 1
        leader, follower = (a, b) if a.is_leader else (b, a)
        # The leader dies: its task is gone and its backend is killed, as when a replica's process crashes.
        tasks[leader].cancel()
        async with live.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": leader.backend_pid})
            await conn.commit()
        died = time.monotonic()

        async def took_over():
            return follower.is_leader and follower.passes > 0

        assert await _wait_for(took_over, timeout=5)
        assert time.monotonic() - died < 5  # within seconds (retry every 0.2 s here)
        async with live.connect() as conn:
            assert (await conn.execute(text("SELECT leader FROM health_meta"))).scalar_one() == follower.name
    finally:
        for evaluator, task in tasks.items():
            evaluator.stop()
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


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
    ids: list[int] = []
    comments: list[str] = []

    async def read() -> None:
        async for line in lines:
            if line.startswith("id: "):
                ids.append(int(line[4:]))
                if len(ids) == n:
                    return
            elif line.startswith(":"):
                comments.append(line)

    await asyncio.wait_for(read(), timeout)
    return ids, comments


async def test_sse_resumes_with_last_event_id_without_losing_events(live, health_server) -> None:
    base, key = health_server
    camera_id = await _camera(live, "Q1-SSE")
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
    camera_id = await _camera(live, "Q1-SSE")
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
