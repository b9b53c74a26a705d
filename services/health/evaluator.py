"""The evaluator loop: exactly one active across replicas, elected by a Postgres advisory lock.

The lock is a session lock held on a dedicated connection, and every pass runs on that same connection:
a leader that loses its connection loses the lock and cannot write, and the lock is freed the moment
its process or connection dies, so another replica takes over at its next retry (leader_retry_s).
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from services.health import metrics, outbox
from services.health.evaluation import evaluate
from services.health.pass_result import PassResult, Watermark
from services.health.settings import HealthSettings, get_health_settings
from shared.db import make_engine

log = logging.getLogger(__name__)

# pg advisory lock key: "citycam-health-evaluator".
LOCK_KEY = 0x63697479_68656C74


async def one_pass(
    session: AsyncSession,
    *,
    settings: HealthSettings,
    now: datetime | None = None,
    leader: str | None = None,
    previous: Watermark | None = None,
) -> PassResult:
    """One evaluator pass, then its webhook deliveries queued, in the caller's transaction (it commits)."""
    result = await evaluate(session, now=now, settings=settings, leader=leader, previous=previous)
    started = time.perf_counter()
    result.deliveries = await outbox.enqueue_for_pass(session, result)
    result.stages_ms["webhooks"] = round((time.perf_counter() - started) * 1000, 1)
    return result


class Evaluator:
    """Campaigns for the lock; while leader, runs a pass every evaluate_every_s on the lock's connection."""

    def __init__(self, url: str, settings: HealthSettings | None = None, name: str | None = None) -> None:
        self.settings = settings or get_health_settings()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.engine: AsyncEngine = make_engine(
            url,
            application_name="citycam-health-evaluator",
            direct=True,
            pool_size=1,
            max_overflow=0,
            pool_pre_ping=False,
        )
        self.is_leader = False
        self.passes = 0
        self.last: PassResult | None = None
        self.backend_pid: int | None = None
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Campaign and evaluate until stop()."""
        try:
            while not self._stop.is_set():
                try:
                    async with self.engine.connect() as conn:
                        try:
                            await self._campaign(conn)
                        except Exception:
                            # Never hand a connection that may still hold the lock back to the pool.
                            await conn.invalidate()
                            raise
                except Exception as exc:
                    log.warning(
                        "evaluator pass or connection failed: %s: %s",
                        type(exc).__name__,
                        str(exc).splitlines()[0][:300] if str(exc) else "",
                        extra={"event": "evaluator_error"},
                    )
                self._set_leader(False)
                await self._sleep(self.settings.leader_retry_s)
        finally:
            self._set_leader(False)
            await self.engine.dispose()

    async def _campaign(self, conn: AsyncConnection) -> None:
        self.backend_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        while not self._stop.is_set():
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            await conn.commit()
            if got:
                break
            await self._sleep(self.settings.leader_retry_s)
        else:
            return
        self._set_leader(True)
        log.info("evaluator leader elected", extra={"event": "evaluator_leader", "leader": self.name})
        # A new leader starts with a full pass: it cannot know what changed while it was not leading.
        previous: Watermark | None = None
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                    result = await one_pass(session, settings=self.settings, leader=self.name, previous=previous)
                    await session.commit()
                previous = result.watermark
                self._observe(result)
                if not result.backlog:
                    await self._sleep(max(0.0, self.settings.evaluate_every_s - (time.monotonic() - started)))
        finally:
            if not conn.closed and not conn.invalidated:
                try:
                    await conn.rollback()
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                    await conn.commit()
                except Exception:
                    log.info("could not release the evaluator lock; it goes with the connection")

    def _observe(self, result: PassResult) -> None:
        self.passes += 1
        self.last = result
        metrics.EVALUATION_SECONDS.labels("full" if result.full else "incremental").observe(result.duration_ms / 1000)
        metrics.STALE.set(1 if result.stale else 0)
        metrics.TRANSITIONS.inc(result.events)
        if result.events:
            log.info(
                "transitions recorded",
                extra={
                    "event": "evaluator_pass",
                    "transitions": result.events,
                    "pass_ms": round(result.duration_ms, 1),
                },
            )

    def _set_leader(self, value: bool) -> None:
        self.is_leader = value
        metrics.LEADER.set(1 if value else 0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def stop(self) -> None:
        """Ask the loop to end (the lock is released on the way out)."""
        self._stop.set()
