"""Reads that may go to a streaming standby (CITYCAM_DB_READ_URL) while its replay lag stays in bound.

The standby's lag is measured at most every read_check_every_s; above read_max_lag_s, or when the
standby does not answer or no longer streams from a primary (its data then ages without bound), reads
go to the primary. Nothing that decides (the evaluator) or writes ever uses these sessions.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import SessionDep, connect_args, make_engine, make_sessionmaker
from shared.settings import DatabaseSettings, get_database_settings

log = logging.getLogger(__name__)

# Seconds behind the primary; NULL (taken as "too far") when the standby no longer receives WAL.
# On a server that is not in recovery (a READ_URL naming the primary) the lag is 0.
LAG_SQL = text(
    """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0.0
        WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
        ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
    END
    """
)


class ReadRouting:
    """Chooses, per request, the standby's sessions or the primary's."""

    def __init__(
        self,
        primary: async_sessionmaker[AsyncSession],
        standby: AsyncEngine | None,
        *,
        max_lag_s: float,
        check_every_s: float,
    ) -> None:
        self.primary = primary
        self.standby = standby
        self.standby_sessions = make_sessionmaker(standby) if standby is not None else None
        self.max_lag_s = max_lag_s
        self.check_every_s = check_every_s
        self.on_standby = False
        self.lag_s: float | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls, primary: async_sessionmaker[AsyncSession], settings: DatabaseSettings | None = None
    ) -> "ReadRouting":
        """The routing CITYCAM_DB_READ_URL asks for (always the primary when it is unset)."""
        settings = settings or get_database_settings()
        standby = None
        if settings.read_url:
            # A small pool and a short connect timeout: a dead standby must cost a read little.
            # direct: the standby is read without a pooler in front.
            standby = make_engine(
                settings.read_url,
                application_name="citycam-health-reads",
                direct=True,
                pool_size=min(settings.pool_size, 5),
                pool_timeout=1.0,
                connect_args=connect_args(application_name="citycam-health-reads", direct=True, settings=settings)
                | {"timeout": 1.0},
            )
        return cls(primary, standby, max_lag_s=settings.read_max_lag_s, check_every_s=settings.read_check_every_s)

    async def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The standby's sessions while its lag is within bound, else the primary's."""
        if self.standby_sessions is None:
            return self.primary
        if time.monotonic() - self._checked_at >= self.check_every_s:
            async with self._lock:
                if time.monotonic() - self._checked_at >= self.check_every_s:
                    await self._check()
        return self.standby_sessions if self.on_standby else self.primary

    async def _check(self) -> None:
        assert self.standby is not None
        try:
            async with self.standby.connect() as conn:
                lag = await asyncio.wait_for(conn.scalar(LAG_SQL), 1.0)
        except Exception as exc:  # an unreachable standby means the primary, never an error
            lag = None
            log.debug("standby lag check failed: %s", type(exc).__name__)
        self.lag_s = lag
        on_standby = lag is not None and lag <= self.max_lag_s
        if on_standby != self.on_standby:
            log.info("health reads moved to the %s", "standby" if on_standby else "primary", extra={"lag_s": lag})
        self.on_standby = on_standby
        self._checked_at = time.monotonic()

    def standby_failed(self, exc: BaseException) -> None:
        """A read could not reach the standby: the primary takes the reads until the next check."""
        if self.on_standby:
            log.info("health reads moved to the primary: the standby failed (%s)", type(exc).__name__)
        self.on_standby = False
        self._checked_at = time.monotonic()

    async def close(self) -> None:
        """Dispose of the standby's pool."""
        if self.standby is not None:
            await self.standby.dispose()


async def get_read_session(request: Request, session: SessionDep) -> AsyncIterator[AsyncSession]:
    """The standby's session while it is in bound, else the request's own (SessionDep's: the one that
    authenticated the request, so a read on the primary costs no second connection)."""
    routing: ReadRouting | None = getattr(request.app.state, "reads", None)
    chosen = await routing.sessionmaker() if routing is not None else None
    if routing is None or chosen is None or chosen is routing.primary:
        yield session
        return
    standby_session = chosen()
    try:
        # A standby that died since its last check fails here, before the endpoint has read anything.
        await standby_session.connection()
    except Exception as exc:  # any failure to reach the standby means the primary, never an error
        await standby_session.close()
        routing.standby_failed(exc)
        yield session
        return
    try:
        yield standby_session
    finally:
        # Nothing to keep: these sessions only read.
        await standby_session.rollback()
        await standby_session.close()


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
