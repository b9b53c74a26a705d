"""A quick health measurement: load N cameras (10% offline, 5% degraded) and time the evaluator and reads.

    python -m bench.health_perf --url postgresql://postgres@127.0.0.1:5432/citycam_perf --cameras 100000

The database must be migrated; its cameras, heartbeats and health rows are replaced (bench.load's
replacing load). Reads are timed in-process through the service functions (the HTTP figures belong to
`make bench`).
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from bench.load import FleetShape, load
from services.health import service
from services.health.evaluation import evaluate
from shared.db import async_url, make_engine, make_sessionmaker, plain_url

# Cameras report every 300 s, so the busy pass's two hours of silence take them offline; none sits behind
# a gateway, and 1% are in maintenance.
PERF_SHAPE = FleetShape(interval_s=300, maintenance=0.01, behind_gateways=0.0)


async def _timed(fn: Callable[[], Awaitable[Any]], n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50": round(statistics.median(samples), 2),
        "p99": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "max": round(samples[-1], 2),
    }


async def main(url: str, cameras: int, repeat: int) -> None:
    """Load, evaluate, and time the reads; print one line per figure."""
    engine = make_engine(async_url(url), application_name="citycam-health-perf")
    sessions = make_sessionmaker(engine)
    try:
        started = time.perf_counter()
        await load(plain_url(url), cameras, shape=PERF_SHAPE, replace=True)
        print(f"loaded {cameras} cameras in {time.perf_counter() - started:.1f} s", flush=True)

        async def one_pass() -> Any:
            async with sessions() as s:
                result = await evaluate(s)
                await s.commit()
                return result

        # Cold start: every camera is new; the verdicts are created max_changes_per_pass at a time.
        cold: list[str] = []
        while True:
            started = time.perf_counter()
            result = await one_pass()
            cold.append(f"{(time.perf_counter() - started) * 1000:.0f} ms/{result.changed}")
            if not result.backlog:
                break
        print("cold passes (time/verdicts created):", ", ".join(cold))
        async with sessions() as session:
            await session.execute(text("ANALYZE camera_health"))
            await session.commit()
        print("steady pass (nothing changed):", await _timed(one_pass, repeat), "ms")
        print("  stages of one steady pass:", (await one_pass()).stages_ms)

        async with sessions() as session:
            # A busy pass: 10% more of the fleet goes silent at once (a city-wide outage's worth of transitions).
            # Picked in id order (random), so they are spread over every district as the loaded rows are not.
            await session.execute(
                text(
                    "UPDATE camera_state SET received_at = received_at - interval '2 hours'"
                    " WHERE camera_id IN (SELECT camera_id FROM camera_health WHERE status = 'online'"
                    " ORDER BY camera_id LIMIT :k)"
                ),
                {"k": cameras // 10},
            )
            await session.commit()
        started = time.perf_counter()
        busy = await one_pass()
        elapsed_ms = (time.perf_counter() - started) * 1000
        print(
            f"busy pass: {elapsed_ms:.0f} ms, {busy.events} transitions, {len(busy.incidents_opened)} incidents,"
            f" stages {busy.stages_ms}"
        )
        print("steady pass again:", await _timed(one_pass, repeat), "ms")

        async with sessions() as session:
            counts = (await session.execute(text("SELECT status, count(*) FROM camera_health GROUP BY 1"))).all()
            print("statuses:", {r[0]: r[1] for r in counts})

            async def summary_cold() -> None:
                service._CACHE.clear()
                await service.summary(session, meta=await service.current_meta(session))

            async def summary_warm() -> None:
                await service.summary(session, meta=await service.current_meta(session))

            async def groups_cold() -> None:
                service._CACHE.clear()
                await service.groups(session, meta=await service.current_meta(session), by="district", district=None)

            async def groups_warm() -> None:
                await service.groups(session, meta=await service.current_meta(session), by="district", district=None)

            async def offline_page() -> None:
                await cameras.list_cameras(session, filters={"status": ["offline"]}, limit=100, cursor=None)

            async def worst_page() -> None:
                await cameras.list_cameras(session, filters={}, limit=100, cursor=None)

            async def district_offline_page() -> None:
                await cameras.list_cameras(
                    session, filters={"status": ["offline"], "district": "BTH"}, limit=100, cursor=None
                )

            for name, fn in (
                ("summary, cold process cache (counts stored by the pass)", summary_cold),
                ("summary, same generation", summary_warm),
                ("groups by district, cache miss", groups_cold),
                ("groups by district, same generation", groups_warm),
                ("offline list, first page", offline_page),
                ("worst-first list, first page", worst_page),
                ("offline list in one district, first page", district_offline_page),
            ):
                print(f"{name}: {await _timed(fn, repeat * 10)} ms")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a migrated database (its data is replaced)")
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.cameras, args.repeat))
