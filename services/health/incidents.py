"""Incidents: the read model (API and webhooks) and the list."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.schemas import IncidentRead
from shared.errors import BadRequest, NotFound
from shared.models import Incident
from shared.pagination import decode_cursor, encode_cursor


def incident_read(incident: Incident) -> IncidentRead:
    """An incident as the API and webhooks show it."""
    return IncidentRead.model_validate(incident, from_attributes=True)


async def list_incidents(
    session: AsyncSession, *, state: str | None, kind: str | None, limit: int, cursor: str | None
) -> tuple[list[IncidentRead], str | None]:
    """Incidents newest first."""
    position = decode_cursor(cursor, keys=("id",))
    stmt = select(Incident).order_by(Incident.id.desc()).limit(limit + 1)
    if state is not None:
        stmt = stmt.where(Incident.state == state)
    if kind is not None:
        stmt = stmt.where(Incident.kind == kind)
    if position is not None:
        try:
            stmt = stmt.where(Incident.id < int(position["id"]))
        except (TypeError, ValueError):
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return [incident_read(i) for i in rows[:limit]], next_cursor


async def get_incident(session: AsyncSession, *, incident_id: int) -> IncidentRead:
    """One incident; 404 when unknown."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident_read(incident)
