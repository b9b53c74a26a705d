"""Retention: the tables that grow with time are pruned by age, one replica at a time.

Health owns status_event, incident and the webhook tables; camera_change (the registry's audit of
cameras and gateways) is pruned here too: the registry runs no background job and is scaled as a
request server, while health already runs one leader-elected loop, so one job with one lock and one
schedule covers every table that grows forever. Each round takes a transaction-level advisory lock
(a second replica's round finds it taken and skips) and deletes at most RETENTION_BATCH rows per table;
a table with more to delete gets another round at once, so no transaction holds many row locks.

What is kept: every camera's newest status_event before the cut-off (availability needs the status a
camera had when a window starts, and the detail shows the last transitions), open incidents, and
pending deliveries (a disabled webhook's queue waits for it to be enabled).
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.health.settings import HealthSettings, get_health_settings

log = logging.getLogger(__name__)

# pg advisory lock key: "citycam-health-retention".
LOCK_KEY = 0x63697479_72657465


@dataclass(frozen=True)
class Rule:
    """One table's retention: the DELETE of at most :batch rows older than :cutoff, and its setting."""

    table: str
    days_setting: str
    sql: str


RULES = (
    Rule(
        "status_event",
        "retention_status_event_days",
        """
        DELETE FROM status_event WHERE id IN (
            SELECT e.id FROM status_event e
            WHERE e.at < :cutoff AND EXISTS (
                SELECT 1 FROM status_event n
                WHERE n.camera_id = e.camera_id AND n.at < :cutoff AND (n.at, n.id) > (e.at, e.id))
            LIMIT :batch)
        """,
    ),
    Rule(
        "incident",
        "retention_incident_days",
        """
        DELETE FROM incident WHERE id IN (
            SELECT id FROM incident WHERE state = 'closed' AND closed_at < :cutoff LIMIT :batch)
        """,
    ),
    Rule(
        "webhook_delivery",
        "retention_delivery_days",
        """
        DELETE FROM webhook_delivery WHERE id IN (
            SELECT id FROM webhook_delivery WHERE created_at < :cutoff AND state <> 'pending' LIMIT :batch)
        """,
    ),
    Rule(
        "webhook_change",
        "retention_audit_days",
        "DELETE FROM webhook_change WHERE id IN (SELECT id FROM webhook_change WHERE at < :cutoff LIMIT :batch)",
    ),
    Rule(
        "camera_change",
        "retention_audit_days",
        "DELETE FROM camera_change WHERE id IN (SELECT id FROM camera_change WHERE at < :cutoff LIMIT :batch)",
    ),
)


async def prune(session: AsyncSession, *, settings: HealthSettings, now: datetime) -> dict[str, int]:
    """Delete at most retention_batch rows per table past its age (the caller commits); rows deleted per table."""
    deleted: dict[str, int] = {}
    for rule in RULES:
        days: int = getattr(settings, rule.days_setting)
        cutoff = now - timedelta(days=days)
        result = await session.execute(text(rule.sql), {"cutoff": cutoff, "batch": settings.retention_batch})
        deleted[rule.table] = result.rowcount or 0  # type: ignore[attr-defined]
    return deleted


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession], settings: HealthSettings, *, now: datetime | None = None
) -> dict[str, int] | None:
    """One round under the lock, committed; None when another replica holds the lock."""
    async with sessionmaker() as session:
        if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}):
            return None
        when = now or await session.scalar(text("SELECT clock_timestamp()"))
        deleted = await prune(session, settings=settings, now=when)
        await session.commit()
    return deleted


class RetentionJob:
    """Runs a retention round every retention_interval_s (and again at once while a table has more)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: HealthSettings | None = None):
        self.sessionmaker = sessionmaker
        self.settings = settings or get_health_settings()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Loop until stop()."""
        while not self._stop.is_set():
            more = False
            try:
                deleted = await run_once(self.sessionmaker, self.settings)
                if deleted and any(deleted.values()):
                    log.info("retention pruned rows", extra={"event": "retention", **deleted})
                    more = any(n >= self.settings.retention_batch for n in deleted.values())
            except Exception as exc:
                log.warning("retention round failed: %s", type(exc).__name__, extra={"event": "retention_error"})
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.retention_interval_s)

    def stop(self) -> None:
        """Ask the loop to end after its current round."""
        self._stop.set()
