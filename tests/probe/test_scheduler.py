"""Slots, caps and back-off: a steady stream of checks that dark cameras cannot stall."""

import asyncio
import time

import httpx
import pytest

from services.probe.credentials import Site
from services.probe.scheduler import Limiter, Scheduler, concurrency_for, next_slot, slot
from services.probe.schemas import CameraTarget, Heartbeat
from tests.helpers import free_port
from tests.probe.conftest import settings
from tests.probe.fakecam import FakeCamera, Script


def _target(i: int, url: str, interval: int = 5) -> CameraTarget:
    return CameraTarget(id=f"cam-{i}", code=f"C-{i:04d}", stream_url=url, heartbeat_interval_s=interval)


def test_a_cameras_slot_is_fixed_by_its_id() -> None:
    assert slot("cam-1") == slot("cam-1") != slot("cam-2")


def test_slots_spread_a_fleet_evenly_over_the_interval() -> None:
    counts = [0] * 10
    for i in range(10_000):
        counts[int(slot(f"cam-{i}") * 10)] += 1
    assert min(counts) > 900 and max(counts) < 1100


def test_the_next_slot_is_the_phase_of_the_period_after_now() -> None:
    assert next_slot(30, 0.5, 1000.0) == 1005.0
    assert next_slot(30, 0.5, 1005.0) == 1035.0


def test_the_global_cap_is_rate_times_wait_times_attempts_with_headroom() -> None:
    config = settings(connect_timeout_s=3, request_timeout_s=3, retries=1)
    assert concurrency_for(10_000 / 30, config) == 3000
    assert concurrency_for(1, config) == 16
    assert concurrency_for(333, settings(max_concurrency=50)) == 50


async def test_the_limiter_lets_waiters_in_when_it_grows() -> None:
    limiter = Limiter(1)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    limiter.resize(2)
    await asyncio.wait_for(waiter, 1)
    assert limiter.used == 2


def _scheduler(reported: list[Heartbeat], client: httpx.AsyncClient, **overrides: object) -> Scheduler:
    return Scheduler(settings(**overrides), report=lambda hb, _valid: reported.append(hb), http=client, ffmpeg=None)


async def test_the_per_host_cap_holds_for_many_channels_of_one_nvr() -> None:
    reported: list[Heartbeat] = []
    async with FakeCamera(Script(mode="silent")) as nvr, httpx.AsyncClient() as client:
        scheduler = _scheduler(reported, client, per_host_concurrency=3, request_timeout_s=0.2, retries=0)
        scheduler.set_targets([_target(i, nvr.url(f"/ch{i}")) for i in range(12)], Site())
        await scheduler.once(("rtsp",))
    assert nvr.seen.connections == 12 and nvr.seen.most_open <= 3


async def test_a_dark_segment_does_not_delay_the_cameras_that_answer() -> None:
    reported: list[Heartbeat] = []
    async with FakeCamera(Script(mode="silent")) as dark, FakeCamera(Script()) as lit, httpx.AsyncClient() as client:
        # 80% of the fleet silent: each of those holds a slot for two 1 s attempts.
        scheduler = _scheduler(reported, client, request_timeout_s=1.0, per_host_concurrency=100)
        dark_targets = [_target(i, dark.url(f"/d{i}")) for i in range(40)]
        lit_targets = [_target(100 + i, lit.url(f"/l{i}")) for i in range(10)]
        scheduler.set_targets(dark_targets + lit_targets, Site())
        runner = asyncio.create_task(scheduler.run())
        busiest = 0
        for _ in range(275):  # 5.5 s: one interval
            busiest = max(busiest, scheduler.limiter.used)
            await asyncio.sleep(0.02)
        scheduler.stop()
        await runner
        await scheduler.drain(3)
    assert {hb.camera for hb in reported} == {t.id for t in lit_targets}
    assert busiest < scheduler.limiter.limit  # no check ever waited for a global slot


async def test_checks_run_at_their_slots_and_report_heartbeats() -> None:
    reported: list[Heartbeat] = []
    async with FakeCamera(Script()) as cam, httpx.AsyncClient() as client:
        scheduler = _scheduler(reported, client)
        scheduler.set_targets([_target(i, cam.url(f"/c{i}")) for i in range(20)], Site())
        runner = asyncio.create_task(scheduler.run())
        await asyncio.sleep(5.5)  # one 5 s interval: every camera once (twice for a few at the edges)
        scheduler.stop()
        await runner
        await scheduler.drain(2)
    ids = {hb.camera for hb in reported}
    assert len(ids) == 20 and len(reported) <= 40


async def test_cameras_that_stay_dead_are_checked_less_often() -> None:
    reported: list[Heartbeat] = []
    async with httpx.AsyncClient() as client:
        scheduler = _scheduler(reported, client, backoff_after_failures=2, backoff_max_s=300)
        scheduler.set_targets([_target(1, f"rtsp://127.0.0.1:{free_port()}/x", interval=10)], Site())
        camera = scheduler.cameras["cam-1"]
        camera.failures = 4
        scheduler._heap.clear()
        due = time.monotonic()
        scheduler._schedule_next(camera, "rtsp", due)
    assert scheduler._heap[0][0] == pytest.approx(due + 80.0)  # 10 s doubled three times


async def test_a_changed_list_drops_gone_cameras_and_keeps_unchanged_ones() -> None:
    async with httpx.AsyncClient() as client:
        scheduler = _scheduler([], client)
        scheduler.set_targets([_target(1, "rtsp://127.0.0.1/a"), _target(2, "rtsp://127.0.0.1/b")], Site())
        kept = scheduler.cameras["cam-1"]
        scheduler.set_targets([_target(1, "rtsp://127.0.0.1/a"), _target(3, "rtsp://127.0.0.1/c")], Site())
    assert set(scheduler.cameras) == {"cam-1", "cam-3"} and scheduler.cameras["cam-1"] is kept
