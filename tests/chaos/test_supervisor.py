"""SIGTERM and SIGKILL to `citycam up`: nothing acknowledged lost, no process and no port left behind."""

import asyncio
import contextlib
import signal
import time

import pytest

from citycam import linux
from tests.chaos.conftest import (
    HeartbeatLoad,
    OwnPostgres,
    add_cameras,
    descendants,
    missing_acked,
    port_of,
    report,
    running,
)
from tests.conftest import UpStack

pytestmark = pytest.mark.chaos


def _ports(up: UpStack) -> list[int]:
    return [port_of(url) for url in up.urls.values()]


async def _until(check: object, timeout_s: float) -> float | None:
    """Seconds until check() held, or None when it did not within timeout_s."""
    assert callable(check)
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return round(time.monotonic() - start, 2)
        await asyncio.sleep(0.1)
    return None


async def test_sigterm_under_load(own_postgres: OwnPostgres, own_stack: tuple[UpStack, str]) -> None:
    up, _ = own_stack
    processes = descendants(up.process.pid)
    load = HeartbeatLoad(up.urls["ingest"], await add_cameras(own_postgres, 24))
    async with contextlib.asynccontextmanager(load.run)():
        await asyncio.sleep(3)
        up.process.send_signal(signal.SIGTERM)
        ports_free_s = await _until(lambda: all(linux.port_holder(p) is None for p in _ports(up)), 30)
        gone_s = await _until(lambda: not running(processes), 30)
    missing = await missing_acked(own_postgres, load.acked)
    report(
        "SIGTERM to citycam up",
        acked=len(load.acked),
        lost=missing,
        ports_free_s=ports_free_s,
        all_gone_s=gone_s,
        exit_code=up.process.wait(timeout=30),
        processes=len(processes),
    )
    assert missing == 0
    assert ports_free_s is not None and ports_free_s <= 25
    assert gone_s is not None, f"left running: {sorted(running(processes))}"


async def test_sigkill(own_postgres: OwnPostgres, own_stack: tuple[UpStack, str]) -> None:
    up, _ = own_stack
    processes = descendants(up.process.pid)
    up.process.send_signal(signal.SIGKILL)
    up.process.wait()
    gone_s = await _until(lambda: not running(processes), 5)
    left = running(processes)
    ports_free = all(linux.port_holder(p) is None for p in _ports(up))
    report("SIGKILL to citycam up", processes=len(processes), all_gone_s=gone_s, left=len(left), ports_free=ports_free)
    assert not left, f"left running after 5 s: {sorted(left)}"
    assert ports_free
