"""Heartbeats to ingest: `POST /v1/heartbeats/batch` with the agent's gateway token, at most
`batch_max_items` (1,000) per request and one request every `batch_every_s` (1 s).

A heartbeat says "this camera answered at sent_at"; delivered later than its camera's interval it
would keep a camera alive that may have died since, so a heartbeat older than that is dropped instead
of sent. A batch ingest could not take (503, 429, a network error) goes back to the front of the queue.
When there is nothing to send for `keepalive_s`, an empty batch keeps the agent's gateway alive: the
agent's own liveness is its gateway's.
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import msgspec

from services.probe import metrics
from services.probe.schemas import Batch, Heartbeat, batch_result_decoder, encoder

log = logging.getLogger(__name__)

BATCH_PATH = "/v1/heartbeats/batch"


@dataclass(frozen=True)
class Queued:
    """A heartbeat and when it stops being worth sending (monotonic seconds)."""

    heartbeat: Heartbeat
    expires: float


class Reporter:
    """A queue of heartbeats and the loop that sends them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        token: str,
        max_items: int,
        every_s: float,
        keepalive_s: float,
        max_queued: int = 50_000,
    ) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.max_items = max_items
        self.every_s = every_s
        self.keepalive_s = keepalive_s
        self.queue: deque[Queued] = deque()
        self.max_queued = max_queued
        self.last_sent = 0.0
        self.last_ok: float | None = None
        self.sent_items = 0
        self.stopping = False

    def put(self, heartbeat: Heartbeat, *, valid_s: float) -> None:
        """Queue a heartbeat that stays worth sending for valid_s seconds."""
        if len(self.queue) >= self.max_queued:
            self.queue.popleft()
            metrics.BATCH_ITEMS.labels("dropped_full").inc()
        self.queue.append(Queued(heartbeat, time.monotonic() + valid_s))
        metrics.QUEUED.set(len(self.queue))

    def _take(self) -> list[Queued]:
        now = time.monotonic()
        taken: list[Queued] = []
        stale = 0
        while self.queue and len(taken) < self.max_items:
            item = self.queue.popleft()
            if item.expires < now:
                stale += 1
            else:
                taken.append(item)
        if stale:
            metrics.BATCH_ITEMS.labels("dropped_stale").inc(stale)
        metrics.QUEUED.set(len(self.queue))
        return taken

    async def send_once(self) -> int | None:
        """Send one batch now (empty only as a keep-alive); the HTTP status, or None on a network error."""
        items = self._take()
        now = time.monotonic()
        if not items and now - self.last_sent < self.keepalive_s:
            return 0
        body = encoder.encode(
            Batch(heartbeats=[q.heartbeat for q in items], sent_at=datetime.now(UTC).isoformat(timespec="milliseconds"))
        )
        self.last_sent = now
        try:
            response = await self.client.post(BATCH_PATH, content=body, headers=self.headers)
        except httpx.HTTPError as exc:
            metrics.BATCHES.labels("error").inc()
            log.warning("heartbeat batch not delivered", extra={"why": type(exc).__name__, "items": len(items)})
            self.queue.extendleft(reversed(items))
            return None
        metrics.BATCHES.labels(str(response.status_code)).inc()
        if response.status_code == 200:
            self.last_ok = time.time()
            self._count(response.content, len(items))
        elif response.status_code in (429, 503):
            self.queue.extendleft(reversed(items))
        else:
            metrics.BATCH_ITEMS.labels("dropped_refused").inc(len(items))
            log.error(
                "ingest refused the batch",
                extra={"status": response.status_code, "items": len(items), "detail": response.text[:300]},
            )
        metrics.QUEUED.set(len(self.queue))
        return response.status_code

    def _count(self, content: bytes, sent: int) -> None:
        try:
            results = batch_result_decoder.decode(content).results
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("ingest answered a batch with an unreadable body")
            return
        by_status: dict[int, int] = {}
        for item in results:
            by_status[item.status] = by_status.get(item.status, 0) + 1
            if item.status != 202:
                log.warning("heartbeat refused", extra={"camera": item.camera, "status": item.status})
        for status, n in by_status.items():
            metrics.BATCH_ITEMS.labels(str(status)).inc(n)
        self.sent_items += by_status.get(202, 0)
        if len(results) != sent:
            log.warning("ingest answered a batch with the wrong number of results")

    async def run(self) -> None:
        """Send a batch every every_s until stop(); then flush what is left once."""
        next_at = time.monotonic()
        while not self.stopping:
            next_at += self.every_s
            await self.send_once()
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if self.queue:
            await self.send_once()

    def stop(self) -> None:
        """Ask run() to finish after its current batch."""
        self.stopping = True
