"""The webhook outbox: one delivery row per matching webhook for a pass's transitions and incident changes.

The evaluator calls it after each pass, in the pass's transaction (evaluator.py), so a delivery exists
exactly when its transition was committed.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.events import event_read
from services.health.incidents import incident_read
from services.health.pass_result import PassResult
from shared.models import Incident, StatusEvent, Webhook, WebhookDelivery


def _event_payload(event: StatusEvent) -> dict[str, Any]:
    return {"type": "status", "event": event_read(event).model_dump(mode="json")}


def _incident_payload(kind: str, incident: Incident) -> dict[str, Any]:
    return {"type": kind, "incident": incident_read(incident).model_dump(mode="json")}


async def enqueue_for_pass(session: AsyncSession, result: PassResult) -> int:
    """Queue one delivery per matching webhook for this pass's transitions and incident changes."""
    hooks = list(
        (await session.execute(select(Webhook).where(Webhook.enabled, Webhook.deleted_at.is_(None)))).scalars()
    )
    if not hooks:
        return 0
    events: Sequence[StatusEvent] = []
    if result.first_event_id is not None and any(h.transitions for h in hooks):
        events = (
            (
                await session.execute(
                    select(StatusEvent)
                    .where(
                        StatusEvent.id.between(result.first_event_id, result.last_event_id),
                        StatusEvent.from_status.is_not(None),
                        StatusEvent.damped.is_(False),
                    )
                    .order_by(StatusEvent.id)
                )
            )
            .scalars()
            .all()
        )
    incident_ids = result.incidents_opened + result.incidents_closed
    incidents: Sequence[Incident] = []
    if incident_ids and any(h.incidents for h in hooks):
        incidents = (await session.execute(select(Incident).where(Incident.id.in_(incident_ids)))).scalars().all()
    rows: list[dict[str, Any]] = []
    for hook in hooks:
        districts = set(hook.districts) if hook.districts else None
        statuses = set(hook.statuses) if hook.statuses else None
        if hook.transitions:
            for event in events:
                if districts is not None and event.district not in districts:
                    continue
                if statuses is not None and event.to_status not in statuses:
                    continue
                if event.incident_id is not None and not hook.incident_members:
                    continue
                rows.append(
                    {
                        "webhook_id": hook.id,
                        "event": "status",
                        "payload": _event_payload(event),
                        "next_attempt_at": result.now,
                        "status_event_id": event.id,
                    }
                )
        if hook.incidents:
            for incident in incidents:
                if districts is not None and incident.district is not None and incident.district not in districts:
                    continue
                kind = "incident.closed" if incident.state == "closed" else "incident.opened"
                rows.append(
                    {
                        "webhook_id": hook.id,
                        "event": kind,
                        "payload": _incident_payload(kind, incident),
                        "next_attempt_at": result.now,
                        "incident_id": incident.id,
                    }
                )
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
    return len(rows)
