"""Incremental evaluator passes: only what can have changed since the previous pass is derived again."""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.detection import COMMIT_MARGIN
from services.health.evaluation import evaluate
from services.health.pass_result import PassResult, Watermark
from tests.health.conftest import add_camera, at, events_of, health_row, heartbeat, settings

# One sweep slice is a 3600th of the table per pass: on a one-page table it never reaches a whole page,
# so these passes see only heartbeats, threshold crossings and registry changes.
NO_SWEEP = {"sweep_every_s": 3600.0}


async def pass_at(
    session: AsyncSession, when: float, previous: Watermark | None = None, **overrides: Any
) -> PassResult:
    result = await evaluate(session, now=at(when), settings=settings(**overrides), previous=previous)
    await session.commit()
    return result


async def registry_edit(session: AsyncSession, camera: Any, when: datetime, **columns: Any) -> None:
    """Change camera columns as the registry does: version bumped, updated_at set."""
    assignments = "".join(f"{name} = :{name}, " for name in columns)
    await session.execute(
        text(f"UPDATE camera SET {assignments}version = version + 1, updated_at = :when WHERE id = :id"),
        {**columns, "when": when, "id": camera},
    )


async def test_a_pass_after_a_watermark_is_incremental(session) -> None:
    first = await pass_at(session, 1)
    second = await pass_at(session, 2, first.watermark)
    assert (first.full, second.full) == (True, False)


async def test_a_heartbeat_after_the_previous_pass_brings_the_camera_back(session) -> None:
    camera = await add_camera(session, "INC-1", interval=5)
    await heartbeat(session, camera, at(0))
    offline = await pass_at(session, 30)
    await heartbeat(session, camera, at(31))
    row_before = await health_row(session, camera)
    await pass_at(session, 32, offline.watermark, **NO_SWEEP)
    assert (row_before.status, (await health_row(session, camera)).status) == ("offline", "online")


async def heartbeat_seen_as(session: AsyncSession, first: PassResult, in_progress: bool) -> Watermark:
    """The first pass's watermark, as if its snapshot had been taken once the latest heartbeat's transaction
    had completed (or, `in_progress`, while it was still running). Inside the test's one transaction no
    other transaction completes, so a real snapshot never moves past it."""
    assert first.watermark is not None
    writer = int(await session.scalar(text("SELECT max(xmin::text::bigint) FROM camera_state")) or 0)
    snapshot = f"{writer}:{writer + 1}:{writer}" if in_progress else f"{writer + 1}:{writer + 1}:"
    return replace(first.watermark, snapshot=snapshot)


@pytest.mark.parametrize(
    ("in_progress", "derived"),
    [(False, 0), (True, 1)],
    ids=["seen by the previous pass: not derived again", "in flight at the previous pass: derived"],
)
async def test_a_heartbeat_is_derived_unless_the_previous_pass_saw_it(session, in_progress, derived) -> None:
    camera = await add_camera(session, "INC-O", interval=5)
    first = await pass_at(session, 1)
    await heartbeat(session, camera, at(1.5))
    second = await pass_at(session, 2, await heartbeat_seen_as(session, first, in_progress), **NO_SWEEP)
    assert second.derived == derived


async def test_a_threshold_crossed_between_passes_turns_the_camera_offline_at_the_crossing(session) -> None:
    camera = await add_camera(session, "INC-2", interval=5)
    await heartbeat(session, camera, at(0))
    online = await pass_at(session, 1)
    late = await pass_at(session, 12, online.watermark, **NO_SWEEP)
    await pass_at(session, 16, late.watermark, **NO_SWEEP)
    assert [(e.to_status, e.at) for e in await events_of(session, camera)][-2:] == [
        ("degraded", at(10)),
        ("offline", at(15)),
    ]


async def test_a_registry_change_after_the_previous_pass_is_derived_again(session) -> None:
    camera = await add_camera(session, "INC-3", interval=5)
    await heartbeat(session, camera, at(0))
    first = await pass_at(session, 1)
    await registry_edit(session, camera, at(2), lifecycle="maintenance")
    await pass_at(session, 3, first.watermark, **NO_SWEEP)
    assert (await health_row(session, camera)).status == "maintenance"


async def test_a_camera_registered_after_the_previous_pass_gets_a_verdict(session) -> None:
    first = await pass_at(session, 1)
    camera = await add_camera(session, "INC-4", interval=5, created_at=at(2))
    await pass_at(session, 3, first.watermark, **NO_SWEEP)
    assert (await health_row(session, camera)).status == "unknown"


async def test_a_new_heartbeat_interval_is_watched_for_its_own_thresholds(session) -> None:
    camera = await add_camera(session, "INC-5", interval=5)
    await heartbeat(session, camera, at(0))
    first = await pass_at(session, 1)
    await registry_edit(session, camera, at(2), heartbeat_interval_s=7)
    second = await pass_at(session, 3, first.watermark, **NO_SWEEP)
    third = await pass_at(session, 20, second.watermark, **NO_SWEEP)
    await pass_at(session, 22, third.watermark, **NO_SWEEP)
    assert (await health_row(session, camera)).since == at(21)


async def heartbeat_committed_late(session: AsyncSession, camera: Any, previous: PassResult) -> None:
    """A heartbeat stamped before the previous pass by more than the margin, committed only now."""
    assert previous.watermark is not None
    await heartbeat(session, camera, previous.watermark.wall - COMMIT_MARGIN - timedelta(seconds=1))


async def test_without_the_sweep_a_heartbeat_committed_later_than_the_margin_is_not_seen(session) -> None:
    camera = await add_camera(session, "INC-6", interval=60)
    offline = await pass_at(session, 1)
    await heartbeat_committed_late(session, camera, offline)
    await pass_at(session, 2, offline.watermark, **NO_SWEEP)
    assert (await health_row(session, camera)).status == "unknown"


async def test_the_sweep_puts_right_what_the_incremental_pass_missed_within_its_period(session) -> None:
    camera = await add_camera(session, "INC-7", interval=60)
    result = await pass_at(session, 1)
    await heartbeat_committed_late(session, camera, result)
    for second in (2, 3, 4):
        # A three-second sweep at one pass a second: three passes sweep the whole table.
        result = await pass_at(session, second, result.watermark, sweep_every_s=3.0, evaluate_every_s=1.0)
    assert (await health_row(session, camera)).status == "online"


async def test_after_a_backlog_the_next_pass_is_a_full_one(session) -> None:
    for n in range(101):
        await add_camera(session, f"INC-B{n:03d}")
    result = await pass_at(session, 1, max_changes_per_pass=100)
    assert (result.backlog, result.watermark) == (True, None)


async def test_the_stale_guard_changing_makes_a_full_pass(session) -> None:
    cameras = [await add_camera(session, f"INC-S{n:02d}", interval=5) for n in range(20)]
    for camera in cameras:
        await heartbeat(session, camera, at(0))
    fresh = await pass_at(session, 1)
    stale = await pass_at(session, 60, fresh.watermark)
    assert (stale.stale, stale.full) == (True, True)


async def test_when_a_sixth_of_the_fleet_reported_since_the_previous_pass_a_full_pass_is_cheaper(session) -> None:
    first = await pass_at(session, 1)
    await session.execute(
        text(
            """
            INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s)
            SELECT gen_random_uuid(), 'INC-H' || n, 'busy', 10.77, 106.70, 'Q1', 5 FROM generate_series(1, 1000) n
            """
        )
    )
    await session.execute(
        text("INSERT INTO camera_state (camera_id, received_at) SELECT id, :t FROM camera WHERE name = 'busy'"),
        {"t": at(1.5)},
    )
    busy = await pass_at(session, 2, first.watermark, max_changes_per_pass=2000)
    assert busy.full
