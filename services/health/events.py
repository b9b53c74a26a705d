"""Status events: the read model every surface shows (API, stream, webhooks), the list and the stream's catch-up."""

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import refs
from services.health.schemas import EventRead
from shared.errors import ValidationFailed
from shared.models import StatusEvent


def event_read(event: StatusEvent) -> EventRead:
    """A status event as the API, the stream and webhooks show it."""
    return EventRead(
        id=event.id,
        camera_id=event.camera_id,
        code=event.code,
        district=event.district,
        ward=event.ward,
        from_=event.from_status,
        to=event.to_status,
        reason=event.reason,
        at=event.at,
        recorded_at=event.recorded_at,
        incident_id=event.incident_id,
        damped=event.damped,
    )


def parse_since(raw: str | None) -> int | datetime | None:
    """since= as an event id (integer) or an RFC 3339 time; 422 otherwise."""
    if raw is None:
        return None
    if re.fullmatch(r"\d{1,18}", raw):
        return int(raw)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed(
            "since must be an event id or an RFC 3339 time with offset",
            errors=[{"loc": ["query", "since"], "msg": "expected an event id or an RFC 3339 time"}],
        )
    return value


async def list_events(
    session: AsyncSession, *, filters: dict[str, Any], limit: int, cursor: str | None
) -> tuple[list[EventRead], str | None]:
    """Status transitions newest first; since= keeps only those after an event id or time."""
    stmt = select(StatusEvent)
    since = parse_since(filters.get("since"))
    if isinstance(since, int):
        stmt = stmt.where(StatusEvent.id > since)
    elif isinstance(since, datetime):
        stmt = stmt.where(StatusEvent.at >= since)
    if filters.get("camera") is not None:
        camera = await refs.find_camera(session, filters["camera"])
        stmt = stmt.where(StatusEvent.camera_id == camera.id)
    if filters.get("district") is not None:
        stmt = stmt.where(StatusEvent.district == filters["district"])
    statuses = refs.parse_statuses(filters.get("status"))
    if statuses:
        stmt = stmt.where(StatusEvent.to_status.in_(statuses))
    if filters.get("incident_id") is not None:
        stmt = stmt.where(StatusEvent.incident_id == filters["incident_id"])
    rows, next_cursor = await refs.newest_first(session, stmt, StatusEvent.id, cursor=cursor, limit=limit)
    return [event_read(r) for r in rows], next_cursor


async def events_after(session: AsyncSession, *, after: int, limit: int) -> list[StatusEvent]:
    """Events with id > after, oldest first (the stream's catch-up)."""
    stmt = select(StatusEvent).where(StatusEvent.id > after).order_by(StatusEvent.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def newest_event_id(session: AsyncSession) -> int:
    """The newest event id (0 when there is none)."""
    return int(await session.scalar(text("SELECT COALESCE(max(id), 0) FROM status_event")) or 0)


async def recent_of_camera(session: AsyncSession, *, camera_id: uuid.UUID, limit: int) -> list[EventRead]:
    """A camera's newest transitions, newest first (its detail)."""
    stmt = (
        select(StatusEvent)
        .where(StatusEvent.camera_id == camera_id)
        .order_by(StatusEvent.at.desc(), StatusEvent.id.desc())
        .limit(limit)
    )
    return [event_read(e) for e in (await session.execute(stmt)).scalars()]
