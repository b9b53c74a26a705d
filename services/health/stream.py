"""Server-Sent Events: one LISTEN connection per process fans transitions out to every client.

A client subscribes before it catches up from the database, then skips what it already sent, so
nothing is lost between the catch-up and the live feed; a client too slow for its queue is marked
lagged and catches up from the database again. Only short sessions are used while streaming.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.health import acks, metrics
from services.health.events import event_read, events_after, newest_event_id
from services.health.schemas import IncidentRead
from services.health.settings import HealthSettings, get_health_settings
from shared.models import StatusEvent
from shared.notify import INCIDENT_CHANGED, STATUS_EVENT

log = logging.getLogger(__name__)

CATCH_UP_PAGE = 500
POLL_FALLBACK_S = 5.0


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[list[StatusEvent] | IncidentRead]
    lagged: bool = False
    filters: dict[str, Any] = field(default_factory=dict)

    def push(self, events: list[StatusEvent] | IncidentRead) -> None:
        if self.lagged:
            return
        try:
            self.queue.put_nowait(events)
        except asyncio.QueueFull:
            # Too slow: drop the queue and let the client re-read from the database.
            self.lagged = True
            while not self.queue.empty():
                self.queue.get_nowait()


class Broadcaster:
    """Holds the process's single LISTEN connection and hands every new event to every subscriber."""

    def __init__(
        self, dsn: str, sessionmaker: async_sessionmaker[AsyncSession], settings: HealthSettings | None = None
    ) -> None:
        self.dsn = dsn
        self.sessionmaker = sessionmaker
        self.settings = settings or get_health_settings()
        self.subscribers: set[Subscriber] = set()
        self.last_id = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._started = False
        self._incident_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the listener once; wait until it is listening."""
        if not self._started:
            self._started = True
            self._task = asyncio.create_task(self._run(), name="health-sse-listener")
        await asyncio.wait_for(self._ready.wait(), 5)

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self, filters: dict[str, Any]) -> Subscriber:
        """A new subscriber; events arrive in its queue from now on."""
        sub = Subscriber(queue=asyncio.Queue(self.settings.sse_queue_size), filters=filters)
        self.subscribers.add(sub)
        metrics.SSE_CLIENTS.set(len(self.subscribers))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber."""
        self.subscribers.discard(sub)
        metrics.SSE_CLIENTS.set(len(self.subscribers))

    def _notified(self, *_: object) -> None:
        self._wake.set()

    def _incident_changed(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        task = asyncio.create_task(self._push_incident(int(json.loads(payload)["id"])))
        self._incident_tasks.add(task)
        task.add_done_callback(self._incident_tasks.discard)

    async def _push_incident(self, incident_id: int) -> None:
        # Acks are live only (no id: a resumed client reads GET /v1/health/incidents again).
        try:
            async with self.sessionmaker() as session:
                incident = await acks.incident_by_id(session, incident_id=incident_id)
        except Exception as exc:  # the next ack or a reconnect's incident read brings the page up to date
            log.warning("incident change not streamed: %s", type(exc).__name__)
            return
        if incident is not None:
            for sub in list(self.subscribers):
                sub.push(incident)

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "citycam-health-sse"})
                await conn.add_listener(STATUS_EVENT, self._notified)
                await conn.add_listener(INCIDENT_CHANGED, self._incident_changed)
                if not self._ready.is_set():
                    async with self.sessionmaker() as session:
                        self.last_id = await newest_event_id(session)
                    self._ready.set()
                # Anything committed while we were (re)connecting is fetched now.
                self._wake.set()
                while not conn.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), POLL_FALLBACK_S)
                    self._wake.clear()
                    await self._fetch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("SSE listener failed: %s", type(exc).__name__)
                await asyncio.sleep(1.0)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()

    async def _fetch(self) -> None:
        while True:
            async with self.sessionmaker() as session:
                events = await events_after(session, after=self.last_id, limit=CATCH_UP_PAGE)
            if not events:
                return
            self.last_id = events[-1].id
            for sub in list(self.subscribers):
                sub.push(events)
            if len(events) < CATCH_UP_PAGE:
                return


def _matches(event: StatusEvent, filters: dict[str, Any]) -> bool:
    districts = filters.get("district")
    return not districts or event.district in districts


def _incident_matches(incident: IncidentRead, filters: dict[str, Any]) -> bool:
    districts = filters.get("district")
    return not districts or incident.district is None or incident.district in districts


def format_incident(incident: IncidentRead) -> str:
    """One SSE message for an acknowledgement change: event: incident, data: the incident JSON, no id
    (Last-Event-ID counts status transitions only)."""
    data = json.dumps(incident.model_dump(mode="json"), separators=(",", ":"))
    return f"event: incident\ndata: {data}\n\n"


def format_event(event: StatusEvent) -> str:
    """One SSE message: event: status, id: the event id, data: the event JSON."""
    data = json.dumps(event_read(event).model_dump(mode="json"), separators=(",", ":"))
    return f"event: status\nid: {event.id}\ndata: {data}\n\n"


async def sse(
    broadcaster: Broadcaster,
    *,
    last_event_id: int | None,
    filters: dict[str, Any],
    is_disconnected: Callable[[], Any] | None = None,
) -> AsyncIterator[str]:
    """The text/event-stream body for one client."""
    sub = broadcaster.subscribe(filters)
    try:
        last = broadcaster.last_id if last_event_id is None else last_event_id
        # The position first (event: connected, id: the last event before this stream's first): a client
        # dropped before any transition arrived still resumes from here with Last-Event-ID, losing nothing.
        yield (
            f"retry: 2000\n: connected, resuming after {last_event_id if last_event_id is not None else 'now'}\n"
            f'event: connected\nid: {last}\ndata: {{"last_event_id":{last}}}\n\n'
        )
        catch_up = last_event_id is not None
        while True:
            if catch_up or sub.lagged:
                sub.lagged = False
                while True:
                    async with broadcaster.sessionmaker() as session:
                        events = await events_after(session, after=last, limit=CATCH_UP_PAGE)
                    for event in events:
                        last = event.id
                        if _matches(event, filters):
                            yield format_event(event)
                    if len(events) < CATCH_UP_PAGE:
                        break
                catch_up = False
            try:
                batch = await asyncio.wait_for(sub.queue.get(), broadcaster.settings.sse_keepalive_s)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if isinstance(batch, IncidentRead):
                if _incident_matches(batch, filters):
                    yield format_incident(batch)
                continue
            for event in batch:
                if event.id > last:
                    last = event.id
                    if _matches(event, filters):
                        yield format_event(event)
    finally:
        broadcaster.unsubscribe(sub)
