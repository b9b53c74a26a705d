"""Daily heartbeat partitions: created ahead, stranded default rows moved, old days dropped, one
job at a time across replicas."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.ingest.service import (
    RETENTION_LOCK_KEY,
    existing_partitions,
    heartbeat_row,
    maintain_partitions,
    upsert_heartbeats,
)
from shared.db import plain_url
from tests.conftest import scratch_database
from tests.ingest.conftest import add_camera

DAY = date(2031, 3, 10)


@pytest.fixture(scope="module")
async def retention_url() -> AsyncIterator[str]:
    async with scratch_database("ingest_retention") as url:
        yield url


@pytest.fixture
async def rconn(retention_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(plain_url(retention_url))
    yield conn
    await conn.close()


async def _maintain(conn: asyncpg.Connection, today: date, keep: int = 30):
    return await maintain_partitions(conn, today=today, ahead_days=2, retention_days=keep, lock_timeout_ms=2000)


async def test_partitions_are_created_ahead_and_rows_route_into_them(rconn: asyncpg.Connection) -> None:
    report = await _maintain(rconn, DAY)
    assert report is not None
    assert report.created == ["heartbeat_p20310310", "heartbeat_p20310311", "heartbeat_p20310312"]
    assert (await _maintain(rconn, DAY)).created == []  # idempotent
    cam = await add_camera(rconn)
    await upsert_heartbeats(rconn, [heartbeat_row(cam.id, datetime(2031, 3, 11, 8, tzinfo=UTC))])
    where = await rconn.fetchval("SELECT tableoid::regclass::text FROM heartbeat WHERE camera_id = $1", cam.id)
    assert where == "heartbeat_p20310311"


async def test_rows_stranded_in_the_default_partition_move_into_the_new_day(rconn: asyncpg.Connection) -> None:
    cam = await add_camera(rconn)
    at = datetime(2031, 4, 20, 13, tzinfo=UTC)
    await upsert_heartbeats(rconn, [heartbeat_row(cam.id, at, fps=7.0)])
    assert (
        await rconn.fetchval("SELECT tableoid::regclass::text FROM heartbeat WHERE camera_id = $1", cam.id)
        == "heartbeat_default"
    )
    report = await _maintain(rconn, date(2031, 4, 20))
    assert report is not None and report.moved_rows == 1
    row = await rconn.fetchrow(
        "SELECT tableoid::regclass::text AS part, fps FROM heartbeat WHERE camera_id = $1", cam.id
    )
    assert (row["part"], row["fps"]) == ("heartbeat_p20310420", 7.0)
    assert await rconn.fetchval("SELECT count(*) FROM heartbeat_default WHERE received_at >= $1", at) == 0


async def test_days_past_retention_are_dropped(rconn: asyncpg.Connection) -> None:
    await _maintain(rconn, date(2032, 1, 1))
    report = await _maintain(rconn, date(2032, 3, 1), keep=30)
    assert report is not None
    assert "heartbeat_p20320101" in report.dropped
    days = await existing_partitions(rconn)
    assert min(days) >= date(2032, 1, 31)
    assert max(days) == date(2032, 3, 3)


async def test_only_one_replica_runs_the_job_at_a_time(retention_url: str, rconn: asyncpg.Connection) -> None:
    other = await asyncpg.connect(plain_url(retention_url))
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK_KEY)
        assert await _maintain(rconn, date(2033, 1, 1)) is None
        await other.execute("SELECT pg_advisory_unlock($1)", RETENTION_LOCK_KEY)
        assert await _maintain(rconn, date(2033, 1, 1)) is not None
    finally:
        await other.close()
