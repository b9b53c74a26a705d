"""Incident acknowledgement: an operator says "someone is on it"; the change goes out on SSE and webhooks."""

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.incidents import incident_read
from services.health.schemas import IncidentRead
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.models import Incident, Webhook, WebhookDelivery
from shared.notify import INCIDENT_CHANGED


def _require_scope(principal: Principal, incident: Incident) -> None:
    # A district-scoped key sees every incident but acts only on its districts; an incident with no
    # district (the ingest path, a gateway serving several) belongs to unscoped keys only.
    if principal.districts is None:
        return
    if incident.district is None or incident.district not in principal.districts:
        raise Forbidden(f"this key may not acknowledge incidents outside {', '.join(principal.districts)}")


async def _locked_incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


async def _announce(session: AsyncSession, incident: Incident, kind: str) -> None:
    """Queue the change for every webhook that takes incidents of its district, and NOTIFY the SSE
    listeners; both happen only if the transaction commits."""
    read = incident_read(incident)
    payload: dict[str, Any] = {"type": kind, "incident": read.model_dump(mode="json")}
    hooks = (
        await session.execute(
            select(Webhook.id, Webhook.districts).where(
                Webhook.enabled, Webhook.deleted_at.is_(None), Webhook.incidents
            )
        )
    ).all()
    now = datetime.now(UTC)
    rows = [
        {"webhook_id": hook_id, "event": kind, "payload": payload, "next_attempt_at": now, "incident_id": incident.id}
        for hook_id, districts in hooks
        if not districts or incident.district is None or incident.district in districts
    ]
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": INCIDENT_CHANGED, "payload": json.dumps({"id": incident.id})},
    )


async def ack_incident(
    session: AsyncSession, *, incident_id: int, principal: Principal, note: str | None
) -> IncidentRead:
    """Acknowledge an open incident (again: the newer note and time replace the older)."""
    incident = await _locked_incident(session, incident_id)
    _require_scope(principal, incident)
    if incident.state != "open":
        raise Conflict(f"incident {incident_id} is closed; only open incidents are acknowledged")
    incident.acked_by = principal.name
    incident.acked_at = datetime.now(UTC)
    incident.note = note
    await session.flush()
    await _announce(session, incident, "incident.acked")
    return incident_read(incident)


async def unack_incident(
    session: AsyncSession, *, incident_id: int, principal: Principal, note: str | None
) -> IncidentRead:
    """Withdraw an acknowledgement, so the incident alarms again (closed incidents too, to correct a mistake)."""
    incident = await _locked_incident(session, incident_id)
    _require_scope(principal, incident)
    if incident.acked_at is None:
        raise Conflict(f"incident {incident_id} is not acknowledged")
    incident.acked_by = None
    incident.acked_at = None
    incident.note = note
    await session.flush()
    await _announce(session, incident, "incident.unacked")
    return incident_read(incident)


async def incident_by_id(session: AsyncSession, *, incident_id: int) -> IncidentRead | None:
    """An incident as the stream shows it, or None when it is gone."""
    incident = await session.get(Incident, incident_id)
    return incident_read(incident) if incident is not None else None
