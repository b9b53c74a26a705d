"""The running evaluator on real connections: offline timing in real time, one leader and fail-over."""

import asyncio
import time
from datetime import timedelta

from sqlalchemy import text

from services.health.evaluator import LOCK_KEY, Evaluator
from services.health.settings import HealthSettings
from tests.health.live import add_live_camera, wait_for

FAST = {"evaluate_every_s": 0.25, "leader_retry_s": 0.2}


async def test_running_evaluator_flips_offline_at_fifteen_seconds_and_records_within_two(live, live_url) -> None:
    camera_id = await add_live_camera(live, "Q1-LIVE", interval=5, heard_ago_s=13.0)
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

        row = await wait_for(offline_event, timeout=8)
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
    await add_live_camera(live, "Q1-FO", interval=30, heard_ago_s=1.0)
    a = Evaluator(live_url, HealthSettings(**FAST), name="replica-a")
    b = Evaluator(live_url, HealthSettings(**FAST), name="replica-b")
    tasks = {a: asyncio.create_task(a.run()), b: asyncio.create_task(b.run())}
    try:

        async def elected():
            return a.is_leader or b.is_leader

        assert await wait_for(elected, timeout=5)
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

        assert await wait_for(took_over, timeout=5)
        assert time.monotonic() - died < 5  # within seconds (retry every 0.2 s here)
        async with live.connect() as conn:
            assert (await conn.execute(text("SELECT leader FROM health_meta"))).scalar_one() == follower.name
    finally:
        for evaluator, task in tasks.items():
            evaluator.stop()
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
