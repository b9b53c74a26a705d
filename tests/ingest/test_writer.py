"""The group-commit writer: a flush refused for one unit's data fails that unit alone."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from services.ingest.errors import Unstorable
from services.ingest.service import heartbeat_row
from tests.ingest.conftest import add_camera


async def test_a_data_error_in_a_flush_fails_only_its_unit(live, db: asyncpg.Connection) -> None:
    app, _ = live
    writer = app.state.ingest.writer
    good, bad, after = [await add_camera(db) for _ in range(3)]
    now = datetime.now(UTC)
    # Past validation, as if a check were missing: UTC year 10000, which the statement cannot encode.
    unstorable = datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    # Queued in the same tick, so one flush takes both.
    units = [
        writer.submit([heartbeat_row(good.id, now, fps=25.0)]),
        writer.submit([heartbeat_row(bad.id, now, sent_at=unstorable)]),
    ]
    results = await asyncio.gather(*(u.future for u in units), return_exceptions=True)
    assert results[0] is None
    assert isinstance(results[1], Unstorable)
    assert writer.healthy
    await writer.submit([heartbeat_row(after.id, datetime.now(UTC))]).future
    counts = await db.fetch(
        "SELECT camera_id, count(*) AS n FROM heartbeat WHERE camera_id = ANY($1::uuid[]) GROUP BY camera_id",
        [good.id, bad.id, after.id],
    )
    assert {r["camera_id"]: r["n"] for r in counts} == {good.id: 1, after.id: 1}


@pytest.mark.parametrize("value", [2**63], ids=["int8"])
async def test_an_integer_past_its_column_fails_only_its_unit(live, db: asyncpg.Connection, value: int) -> None:
    app, _ = live
    writer = app.state.ingest.writer
    good, bad = [await add_camera(db) for _ in range(2)]
    now = datetime.now(UTC)
    units = [writer.submit([heartbeat_row(good.id, now)]), writer.submit([heartbeat_row(bad.id, now, uptime_s=value)])]
    results = await asyncio.gather(*(u.future for u in units), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], Unstorable)
    assert writer.healthy
