"""Incidents: the read model (API and webhooks) and the list."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import refs
from services.health.schemas import IncidentRead
from shared.errors import NotFound
from shared.models import Incident


def incident_read(incident: Incident) -> IncidentRead:
    """An incident as the API and webhooks show it."""
    return IncidentRead.model_validate(incident, from_attributes=True)


async def list_incidents(
    session: AsyncSession, *, state: str | None, kind: str | None, limit: int, cursor: str | None
) -> tuple[list[IncidentRead], str | None]:
    """Incidents newest first."""
    stmt = select(Incident)
    if state is not None:
        stmt = stmt.where(Incident.state == state)
    if kind is not None:
        stmt = stmt.where(Incident.kind == kind)
    rows, next_cursor = await refs.newest_first(session, stmt, Incident.id, cursor=cursor, limit=limit)
    return [incident_read(r) for r in rows], next_cursor


async def get_incident(session: AsyncSession, *, incident_id: int) -> IncidentRead:
    """One incident; 404 when unknown."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident_read(incident)
