"""The webhook sender: claims due deliveries from the outbox, sends them and records each outcome.

Deliveries are rows (an outbox written in the evaluator's transaction), so a crash never loses one;
any replica may send them (claimed with FOR UPDATE SKIP LOCKED). Failed attempts back off
exponentially; a webhook failing too many times in a row is disabled.
"""

import asyncio
import contextlib
import logging
import random
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.health import delivery, metrics
from services.health.settings import HealthSettings, get_health_settings
from services.health.subscriptions import disable

log = logging.getLogger(__name__)


def backoff_s(attempts: int, settings: HealthSettings) -> float:
    """Seconds before retry number `attempts` (1-based): base x 2^(attempts-1), capped, with +-20% jitter."""
    delay = min(settings.webhook_backoff_max_s, settings.webhook_backoff_s * 2 ** (attempts - 1))
    return delay * random.uniform(0.8, 1.2)


_CLAIM_SQL = """
UPDATE webhook_delivery d
SET attempts = d.attempts + 1, next_attempt_at = clock_timestamp() + :lease * interval '1 second'
FROM webhook w
WHERE d.webhook_id = w.id AND d.id IN (
    SELECT id FROM webhook_delivery
    WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()
    ORDER BY next_attempt_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
RETURNING d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret, w.enabled, w.deleted_at
"""


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    settings: HealthSettings | None = None,
) -> int:
    """Send the deliveries that are due (one claimed batch) and record each outcome; returns how many were tried."""
    settings = settings or get_health_settings()
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text(_CLAIM_SQL), {"lease": settings.webhook_timeout_s * 2 + 5, "batch": settings.webhook_batch}
            )
        ).all()
        await session.commit()
    if not rows:
        return 0
    live = [r for r in rows if r.enabled and r.deleted_at is None]
    outcomes = await asyncio.gather(*(delivery.post(client, r, settings) for r in live))
    async with sessionmaker() as session:
        for r in rows:
            if not (r.enabled and r.deleted_at is None):
                await session.execute(
                    text("UPDATE webhook_delivery SET state = 'cancelled', last_error = :why WHERE id = :id"),
                    {"id": r.id, "why": "webhook disabled or deleted"},
                )
        for r, (ok, code, error) in zip(live, outcomes, strict=True):
            metrics.WEBHOOK_ATTEMPTS.labels("delivered" if ok else "failed").inc()
            await _record(session, r, ok, code, error, settings)
        await session.commit()
    return len(rows)


async def _record(
    session: AsyncSession, row: Any, ok: bool, code: int | None, error: str | None, settings: HealthSettings
) -> None:
    if ok:
        await session.execute(
            text(
                "UPDATE webhook_delivery SET state = 'delivered', delivered_at = clock_timestamp(),"
                " last_status_code = :code, last_error = NULL WHERE id = :id"
            ),
            {"id": row.id, "code": code},
        )
        await session.execute(
            text("UPDATE webhook SET consecutive_failures = 0, last_success_at = clock_timestamp() WHERE id = :id"),
            {"id": row.webhook_id},
        )
        return
    final = row.attempts >= settings.webhook_max_attempts
    await session.execute(
        text(
            """
            UPDATE webhook_delivery SET state = CASE WHEN :final THEN 'failed' ELSE 'pending' END,
                last_status_code = :code, last_error = :error,
                next_attempt_at = clock_timestamp() + :delay * interval '1 second'
            WHERE id = :id
            """
        ),
        {"id": row.id, "code": code, "error": error, "final": final, "delay": backoff_s(row.attempts, settings)},
    )
    failures = (
        await session.execute(
            text(
                "UPDATE webhook SET consecutive_failures = consecutive_failures + 1,"
                " last_failure_at = clock_timestamp() WHERE id = :id RETURNING consecutive_failures"
            ),
            {"id": row.webhook_id},
        )
    ).scalar_one()
    log.info("webhook delivery failed", extra={"event": "webhook_failed", "delivery": row.id, "error": error})
    if failures >= settings.webhook_disable_after:
        await disable(session, row.webhook_id, f"disabled after {failures} consecutive failed deliveries")


class Dispatcher:
    """Sends due webhook deliveries every few moments until stopped."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: HealthSettings | None = None):
        self.sessionmaker = sessionmaker
        self.settings = settings or get_health_settings()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Loop until stop(): deliver, and sleep when nothing was due."""
        timeout = httpx.Timeout(self.settings.webhook_timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    sent = await deliver_due(self.sessionmaker, client, self.settings)
                except Exception:
                    log.exception("webhook dispatch failed")
                    sent = 0
                if sent:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.webhook_poll_s)

    def stop(self) -> None:
        """Ask the loop to end after its current batch."""
        self._stop.set()
