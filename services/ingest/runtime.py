"""The two Backends of heartbeats.py: IngestRuntime, what runs while the service runs (token cache,
group-commit writer, rate limiter and the housekeeping loop: retention, limiter pruning, cache gauges),
and SessionBackend, look-ups and the upsert on a request's own session for the fallback routes."""

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import metrics
from services.ingest.cache import MISSING, Cached, DeviceCache
from services.ingest.errors import DeviceGone, Unavailable, Unstorable
from services.ingest.rate_limit import RateLimiter
from services.ingest.service import (
    Connect,
    Device,
    GatewayBeat,
    GatewayCamera,
    HeartbeatRow,
    devices_by_token_hash,
    gateway_cameras,
    maintain_partitions,
    upsert_heartbeats,
)
from services.ingest.settings import IngestSettings
from services.ingest.writer import GroupCommitWriter

log = logging.getLogger(__name__)


class IngestRuntime:
    """What the heartbeat front needs while the service runs: a Backend with its own connections."""

    def __init__(self, settings: IngestSettings, limiter: RateLimiter, connector: Callable[[str], Connect]) -> None:
        self.settings = settings
        self.limiter = limiter
        self.retry_after_s = settings.retry_after_s
        self._connect = connector("retention")
        self.cache = DeviceCache(settings, connector("listener"), connector("lookup"))
        self.writer = GroupCommitWriter(settings, connector("writer"))
        self._housekeeping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer, the listener and the housekeeping loop; none waits for the database."""
        if self.settings.gc_tuning:
            # The start-up heap is frozen by the shared app factory; here the young generation is
            # collected less often, since the hot path allocates many short-lived objects.
            gc.set_threshold(self.settings.gc_gen0_threshold, 20, 20)
        self.writer.start()
        await self.cache.start()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="ingest-housekeeping")

    async def close(self) -> None:
        """Commit what is queued, then stop everything."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.writer.close()
        await self.cache.close()
        metrics.publish()

    async def device(self, token_hash: str) -> Device | None:
        """The device behind a token hash."""
        return await self.cache.device(token_hash)

    async def cameras_of(self, gateway_id: uuid.UUID) -> dict[str, GatewayCamera]:
        """The cameras behind a gateway."""
        return await self.cache.cameras_of(gateway_id)

    def cached(self, token_hash: str) -> Cached:
        """The cached device, None for a known-bad hash, MISSING when it must be looked up."""
        return self.cache.get(token_hash)

    async def store(self, rows: list[HeartbeatRow], gateway: GatewayBeat | None) -> None:
        """Commit rows with the next group; Unavailable when they cannot be now, DeviceGone or
        Unstorable when these rows never can be."""
        await self.writer.submit(rows, gateway).future

    async def run_retention(self) -> None:
        """One run of the partition job (skipped when another replica holds its lock)."""
        conn = await asyncio.wait_for(self._connect(), self.settings.connect_timeout_s)
        try:
            report = await maintain_partitions(
                conn,
                today=datetime.now(UTC).date(),
                ahead_days=self.settings.partitions_ahead_days,
                retention_days=self.settings.retention_days,
                lock_timeout_ms=self.settings.retention_lock_timeout_ms,
            )
        finally:
            await conn.close()
        if report is None:
            metrics.RETENTION_RUNS.labels("skipped").inc()
            return
        metrics.RETENTION_RUNS.labels("done").inc()
        if report.created or report.dropped or report.moved_rows or report.purged_default_rows:
            log.info(
                "heartbeat partitions maintained",
                extra={
                    "partitions_created": report.created,
                    "partitions_dropped": report.dropped,
                    "moved_rows": report.moved_rows,
                    "purged_default_rows": report.purged_default_rows,
                },
            )

    async def _housekeep(self) -> None:
        next_retention = next_prune = 0.0
        while True:
            now = time.monotonic()
            if now >= next_retention:
                try:
                    await self.run_retention()
                    next_retention = now + self.settings.retention_interval_s
                except Exception as exc:
                    metrics.RETENTION_RUNS.labels("failed").inc()
                    log.warning("heartbeat retention failed, retrying in a minute: %s", type(exc).__name__)
                    next_retention = now + min(60.0, self.settings.retention_interval_s)
            if time.monotonic() >= next_prune:
                self.limiter.prune(time.monotonic())
                metrics.TOKEN_CACHE_HIT_RATIO.set(self.cache.hit_ratio)
                next_prune = time.monotonic() + 5.0
            metrics.publish()
            await asyncio.sleep(1.0)


class SessionBackend:
    """Look-ups and the upsert on the request's own session (committed by SessionDep), for an app
    whose runtime is not running, such as one bound to a test transaction."""

    def __init__(self, session: AsyncSession, timeout: float, retry_after_s: int) -> None:
        self.session = session
        self.timeout = timeout
        self.retry_after_s = retry_after_s

    async def _conn(self) -> asyncpg.Connection:
        sa_conn = await self.session.connection()
        raw = await sa_conn.get_raw_connection()
        return raw.driver_connection

    def cached(self, token_hash: str) -> Cached:
        """Nothing is cached on a session: always MISSING."""
        return MISSING

    async def device(self, token_hash: str) -> Device | None:
        """The device behind a token hash, read now."""
        try:
            found = await devices_by_token_hash(await self._conn(), [token_hash], timeout=self.timeout)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            raise Unavailable("the database is unavailable") from exc
        return found.get(token_hash)

    async def cameras_of(self, gateway_id: uuid.UUID) -> dict[str, GatewayCamera]:
        """The cameras behind a gateway, read now."""
        try:
            return await gateway_cameras(await self._conn(), gateway_id, timeout=self.timeout)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            raise Unavailable("the database is unavailable") from exc

    async def store(self, rows: list[HeartbeatRow], gateway: GatewayBeat | None) -> None:
        """Upsert in the session's transaction."""
        try:
            await upsert_heartbeats(await self._conn(), rows, [gateway] if gateway else [], timeout=self.timeout)
        except asyncpg.ForeignKeyViolationError as exc:
            raise DeviceGone() from exc
        except asyncpg.DataError as exc:
            raise Unstorable() from exc
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            raise Unavailable("the database could not store the heartbeat") from exc
