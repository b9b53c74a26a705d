"""Group commit: heartbeats from concurrent requests share one transaction; each waits for its commit.

Requests append a unit (its rows) to a bounded queue and await a future. Each flusher owns one
connection, takes whatever is queued (up to max_flush_rows) and stores it in one statement; with two
flushers one commits while the other gathers, so the batch size follows the load without a timer.
A future is resolved only after the commit returned, never acknowledging a row that may not be
stored. A flush refused for one unit's rows (a device deleted meanwhile, or a value the database
cannot hold) is retried unit by unit, so only that unit fails (DeviceGone, Unstorable) and the
connection and the writer stay healthy; any other failure fails the units (503). While the database
is unreachable every new unit is refused at once and the flushers reconnect every reconnect_interval_s.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque

import asyncpg  # type: ignore[import-untyped]

from services.ingest import metrics
from services.ingest.errors import DeviceGone, Unavailable, Unstorable
from services.ingest.service import Connect, GatewayBeat, HeartbeatRow, upsert_heartbeats
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)


class Unit:
    """The rows of one request, committed together or not at all."""

    __slots__ = ("future", "gateway", "queued_at", "rows")

    def __init__(
        self, rows: list[HeartbeatRow], gateway: GatewayBeat | None, queued_at: float, future: asyncio.Future[None]
    ) -> None:
        self.rows = rows
        self.gateway = gateway
        self.queued_at = queued_at
        self.future = future


class GroupCommitWriter:
    """Bounded queue of units drained by `flushers` connections, each flush one atomic statement."""

    def __init__(self, settings: IngestSettings, connect: Connect) -> None:
        self.settings = settings
        self._connect = connect
        self._queue: deque[Unit] = deque()
        self._queued_rows = 0
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._watchdog: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self.healthy = False
        self.in_flight = 0

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a flusher."""
        return self._queued_rows

    def start(self) -> None:
        """Start the flushers (they connect on their own; until one does, units are refused)."""
        self._tasks = [
            asyncio.create_task(self._flusher(i), name=f"ingest-flusher-{i}") for i in range(self.settings.flushers)
        ]
        self._watchdog = asyncio.create_task(self._watch(), name="ingest-writer-watchdog")

    async def _watch(self) -> None:
        """Fail units that waited in the queue longer than commit_wait_s (never taken, so never stored)."""
        while True:
            await asyncio.sleep(min(0.25, self.settings.commit_wait_s / 4))
            deadline = time.monotonic() - self.settings.commit_wait_s
            while self._queue and self._queue[0].queued_at < deadline:
                unit = self._queue.popleft()
                self._queued_rows -= len(unit.rows)
                if not unit.future.done():
                    unit.future.set_exception(Unavailable("the database is not keeping up"))

    def submit(self, rows: list[HeartbeatRow], gateway: GatewayBeat | None = None) -> Unit:
        """Queue rows for the next flush; raise Unavailable when they cannot be taken now.

        The caller awaits unit.future. No timer per request: a flush is bounded by flush_timeout_s and
        the queue by max_pending_rows, and the watchdog fails units queued longer than commit_wait_s."""
        if self._closing:
            raise Unavailable("the service is shutting down")
        if not self.healthy:
            raise Unavailable("the database is unavailable")
        if self._queued_rows + len(rows) > self.settings.max_pending_rows and self._queued_rows:
            raise Unavailable("the database is not keeping up")
        unit = Unit(rows, gateway, time.monotonic(), self._loop.create_future())
        self._queue.append(unit)
        self._queued_rows += len(rows)
        self._wakeup.set()
        return unit

    def _take(self) -> list[Unit]:
        units: list[Unit] = []
        rows = 0
        limit = self.settings.max_flush_rows
        while self._queue and (rows == 0 or rows + len(self._queue[0].rows) <= limit):
            unit = self._queue.popleft()
            units.append(unit)
            rows += len(unit.rows)
        self._queued_rows -= rows
        if not self._queue:
            self._wakeup.clear()
        return units

    def _fail_queued(self, detail: str) -> None:
        while self._queue:
            unit = self._queue.popleft()
            if not unit.future.done():
                unit.future.set_exception(Unavailable(detail))
        self._queued_rows = 0
        self._wakeup.clear()

    async def _open(self) -> asyncpg.Connection:
        conn = await asyncio.wait_for(self._connect(), self.settings.connect_timeout_s)
        await conn.execute("SELECT 1", timeout=self.settings.connect_timeout_s)
        return conn

    async def _flusher(self, index: int) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                if conn is None or conn.is_closed():
                    conn = await self._reconnect(index)
                    if conn is None:
                        return
                if not self._queue:
                    if self._closing:
                        return
                    await self._wakeup.wait()
                    continue
                units = self._take()
                if not units:
                    continue
                ok = await self._flush(conn, units)
                if not ok:
                    with contextlib.suppress(Exception):
                        conn.terminate()
                    conn = None
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)

    async def _reconnect(self, index: int) -> asyncpg.Connection | None:
        while True:
            try:
                conn = await self._open()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                if self.healthy:
                    log.warning("ingest writer lost the database: %s", type(exc).__name__)
                self.healthy = False
                self._fail_queued("the database is unavailable")
                if self._closing:
                    return None
                await asyncio.sleep(self.settings.reconnect_interval_s)
                continue
            if not self.healthy:
                log.info("ingest writer connected (flusher %d)", index)
            self.healthy = True
            return conn

    async def _flush(self, conn: asyncpg.Connection, units: list[Unit]) -> bool:
        """Commit the units; return False when the connection must be replaced."""
        rows = [row for unit in units for row in unit.rows]
        beats = [unit.gateway for unit in units if unit.gateway is not None]
        started = time.perf_counter()
        self.in_flight += 1
        try:
            await upsert_heartbeats(conn, rows, beats, timeout=self.settings.flush_timeout_s)
        except (asyncpg.ForeignKeyViolationError, asyncpg.DataError) as exc:
            # One unit's rows are refused (a device deleted since it authenticated, or a value the
            # database cannot hold, SQLSTATE class 22, which validation should have caught): store
            # the others one request at a time, so only that one fails.
            log.warning("heartbeat flush of %d rows refused (%s); retrying unit by unit", len(rows), type(exc).__name__)
            await self._flush_one_by_one(conn, units)
            return not conn.is_closed()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("heartbeat flush of %d rows failed: %s", len(rows), type(exc).__name__)
            for unit in units:
                if not unit.future.done():
                    unit.future.set_exception(Unavailable("the database could not store the heartbeat"))
            if isinstance(exc, asyncpg.PostgresError) and not isinstance(
                exc, (asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError, asyncpg.CannotConnectNowError)
            ):
                return not conn.is_closed()
            self.healthy = False
            self._fail_queued("the database is unavailable")
            return False
        finally:
            self.in_flight -= 1
        metrics.COMMIT_SECONDS_OBS.observe(time.perf_counter() - started)
        metrics.GROUP_SIZE_OBS.observe(len(rows))
        for unit in units:
            if not unit.future.done():
                unit.future.set_result(None)
        return True

    async def _flush_one_by_one(self, conn: asyncpg.Connection, units: list[Unit]) -> None:
        for unit in units:
            outcome: Exception | None = None
            try:
                await upsert_heartbeats(
                    conn, unit.rows, [unit.gateway] if unit.gateway else [], timeout=self.settings.flush_timeout_s
                )
            except asyncpg.ForeignKeyViolationError:
                outcome = DeviceGone()
            except asyncpg.DataError:
                outcome = Unstorable()
            except Exception:
                outcome = Unavailable("the database could not store the heartbeat")
            # A request that went away meanwhile has cancelled its future.
            if unit.future.done():
                continue
            if outcome is None:
                unit.future.set_result(None)
            else:
                unit.future.set_exception(outcome)

    async def close(self) -> None:
        """Commit what is queued (while the database answers), then stop the flushers."""
        self._closing = True
        self._wakeup.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.settings.flush_timeout_s + 2)
            for task in pending:
                task.cancel()
            self._fail_queued("the service is shutting down")
