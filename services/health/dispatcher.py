"""The webhook sender: claims due deliveries from the outbox, sends each as its own task, records each outcome.

Deliveries are rows (an outbox written in the evaluator's transaction), so a crash never loses one;
any replica may send them (claimed with FOR UPDATE SKIP LOCKED, leased for longer than an attempt can
take). Each process keeps at most WEBHOOK_BATCH attempts in flight and at most
WEBHOOK_PER_HOOK_CONCURRENCY per webhook, and claims again as soon as one ends, so a slow receiver holds
only its own slots: the other webhooks' deliveries go out meanwhile. Failed attempts back off
exponentially. A webhook is disabled once it has failed WEBHOOK_DISABLE_AFTER attempts in a row over at
least WEBHOOK_DISABLE_AFTER_S (failures counted over time: a receiver restarting for a minute is not
disabled by a burst of fast failures); its queued deliveries are kept and resume when it is enabled.
"""

import asyncio
import logging
import random
import uuid
from collections import Counter

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.health import delivery, metrics
from services.health.delivery import Claimed, Outcome
from services.health.settings import HealthSettings, get_health_settings
from services.health.subscriptions import disable

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "citycam-health"


def backoff_s(attempts: int, settings: HealthSettings) -> float:
    """Seconds before retry number `attempts` (1-based): base x 2^(attempts-1), capped, with +-20% jitter."""
    delay = min(settings.webhook_backoff_max_s, settings.webhook_backoff_s * 2 ** (attempts - 1))
    return delay * random.uniform(0.8, 1.2)


# Per enabled webhook, its oldest due deliveries up to the per-hook limit less what this process already
# has in flight for it; then the oldest of those, up to the free slots. Per webhook, not over the whole
# queue: a receiver with a thousand deliveries waiting must not hide the others' from the claim.
_CLAIM_SQL = """
WITH busy AS (
    SELECT * FROM unnest(CAST(:busy_ids AS uuid[]), CAST(:busy_counts AS int[])) AS b(webhook_id, n)
),
due AS (
    SELECT d.id, d.next_attempt_at, row_number() OVER (PARTITION BY w.id ORDER BY d.next_attempt_at, d.id) AS k,
           COALESCE(b.n, 0) AS busy
    FROM webhook w
    LEFT JOIN busy b ON b.webhook_id = w.id
    CROSS JOIN LATERAL (
        SELECT id, next_attempt_at FROM webhook_delivery
        WHERE webhook_id = w.id AND state = 'pending' AND next_attempt_at <= clock_timestamp()
        ORDER BY next_attempt_at, id
        LIMIT :per_hook
        FOR UPDATE SKIP LOCKED
    ) d
    WHERE w.enabled AND w.deleted_at IS NULL
),
chosen AS (
    SELECT id FROM due WHERE k + busy <= :per_hook ORDER BY next_attempt_at, id LIMIT :free
)
UPDATE webhook_delivery d
SET attempts = d.attempts + 1, next_attempt_at = clock_timestamp() + :lease * interval '1 second'
FROM webhook w
WHERE d.webhook_id = w.id AND d.id IN (SELECT id FROM chosen)
RETURNING d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret
"""


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: HealthSettings,
    *,
    free: int,
    busy: Counter[uuid.UUID] | None = None,
) -> list[Claimed]:
    """Take up to `free` due deliveries of enabled webhooks, leased for one attempt."""
    busy = busy or Counter()
    ids = [hook for hook, n in busy.items() if n > 0]
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text(_CLAIM_SQL),
                {
                    "busy_ids": ids,
                    "busy_counts": [busy[hook] for hook in ids],
                    "per_hook": settings.webhook_per_hook_concurrency,
                    "free": free,
                    # Longer than any attempt can take, so no other replica sends it meanwhile.
                    "lease": settings.webhook_timeout_s * 2 + 5,
                },
            )
        ).all()
        await session.commit()
    return [Claimed(r.id, r.webhook_id, r.event, r.payload, r.attempts, r.url, r.secret) for r in rows]


async def record(session: AsyncSession, row: Claimed, outcome: Outcome, settings: HealthSettings) -> None:
    """Store an attempt's outcome: delivered, retried later or failed for good; disable a webhook failing for long."""
    metrics.WEBHOOK_ATTEMPTS.labels("delivered" if outcome.ok else "failed").inc()
    if outcome.ok:
        await session.execute(
            text(
                "UPDATE webhook_delivery SET state = 'delivered', delivered_at = clock_timestamp(),"
                " last_status_code = :code, last_error = NULL WHERE id = :id"
            ),
            {"id": row.id, "code": outcome.status_code},
        )
        await session.execute(
            text(
                "UPDATE webhook SET consecutive_failures = 0, failing_since = NULL,"
                " last_success_at = clock_timestamp() WHERE id = :id"
            ),
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
        {
            "id": row.id,
            "code": outcome.status_code,
            "error": outcome.error,
            "final": final,
            "delay": backoff_s(row.attempts, settings),
        },
    )
    hook = (
        await session.execute(
            text(
                """
                UPDATE webhook SET consecutive_failures = consecutive_failures + 1,
                    failing_since = COALESCE(failing_since, clock_timestamp()), last_failure_at = clock_timestamp()
                WHERE id = :id
                RETURNING consecutive_failures AS failures,
                          EXTRACT(EPOCH FROM clock_timestamp() - failing_since)::float8 AS failing_s
                """
            ),
            {"id": row.webhook_id},
        )
    ).one()
    log.info(
        "webhook delivery failed",
        extra={"event": "webhook_failed", "delivery": row.id, "error": outcome.error},
    )
    if hook.failures >= settings.webhook_disable_after and hook.failing_s >= settings.webhook_disable_after_s:
        reason = f"disabled after {hook.failures} consecutive failed attempts over {round(hook.failing_s)} s"
        await disable(session, row.webhook_id, reason=reason, actor=SYSTEM_ACTOR, api_key_id=None)


async def send(
    sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, row: Claimed, settings: HealthSettings
) -> Outcome:
    """One attempt and its recorded outcome."""
    outcome = await delivery.post(client, row, settings)
    async with sessionmaker() as session:
        await record(session, row, outcome, settings)
        await session.commit()
    return outcome


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    settings: HealthSettings | None = None,
) -> int:
    """One round: claim what is due (up to WEBHOOK_BATCH), send it all and wait for every outcome; how many."""
    settings = settings or get_health_settings()
    rows = await claim(sessionmaker, settings, free=settings.webhook_batch)
    await asyncio.gather(*(send(sessionmaker, client, r, settings) for r in rows))
    return len(rows)


class Dispatcher:
    """Keeps up to WEBHOOK_BATCH deliveries in flight, claiming more as each ends, until stopped."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: HealthSettings | None = None):
        self.sessionmaker = sessionmaker
        self.settings = settings or get_health_settings()
        self.in_flight: Counter[uuid.UUID] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Loop until stop(): claim into the free slots, then wait for a slot, the poll interval or stop()."""
        async with delivery.make_client(self.settings) as client:
            stopping = asyncio.create_task(self._stop.wait())
            try:
                while not self._stop.is_set():
                    claimed = await self._claim_into_free_slots(client)
                    free = self.settings.webhook_batch - len(self._tasks)
                    if claimed and free > 0:
                        continue
                    await asyncio.wait(
                        {*self._tasks, stopping}, timeout=self.settings.webhook_poll_s, return_when="FIRST_COMPLETED"
                    )
            finally:
                stopping.cancel()
                # Attempts end by their own deadline; outcomes are recorded before the loop returns.
                if self._tasks:
                    await asyncio.wait(self._tasks, timeout=self.settings.webhook_timeout_s + 5)
                for task in self._tasks:
                    task.cancel()

    async def _claim_into_free_slots(self, client: httpx.AsyncClient) -> int:
        free = self.settings.webhook_batch - len(self._tasks)
        if free <= 0:
            return 0
        try:
            rows = await claim(self.sessionmaker, self.settings, free=free, busy=self.in_flight)
        except Exception:
            log.exception("webhook claim failed")
            return 0
        for row in rows:
            self.in_flight[row.webhook_id] += 1
            task = asyncio.create_task(self._send(client, row), name=f"webhook-delivery-{row.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _send(self, client: httpx.AsyncClient, row: Claimed) -> None:
        try:
            await send(self.sessionmaker, client, row, self.settings)
        except Exception:
            # The lease runs out and the delivery is tried again; the loop goes on.
            log.exception("webhook outcome not recorded")
        finally:
            self.in_flight[row.webhook_id] -= 1
            if self.in_flight[row.webhook_id] <= 0:
                del self.in_flight[row.webhook_id]

    def stop(self) -> None:
        """Ask the loop to end; attempts in flight finish (each within its deadline)."""
        self._stop.set()
