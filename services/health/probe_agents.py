"""Probe agents' own liveness: a dead agent is one incident, not an alarm for each of its cameras.

A probe agent (services/probe) is a gateway of kind `probe`. Its cameras send nothing themselves: when
the agent stops reporting (its batches keep `gateway_state` fresh, empty ones too), its cameras are
unobserved rather than known to be down. So once the agent is silent for its own interval x
OFFLINE_FACTOR, one `gateway` incident opens for it, saying "probe agent X silent"; its cameras, as
they cross their own offline threshold, join that incident (the usual incident assignment finds the
open incident of their gateway), so their transitions carry its id and are not sent to webhooks one
by one. Cameras whose threshold is shorter than the agent's went offline first: those that did so
after the agent's last report join when the incident opens, and a gateway incident they made
meanwhile (five or more cameras) becomes the agent's, its cause rewritten. The incident closes when
the agent reports again and none of its cameras is offline.
"""

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.settings import HealthSettings

# Agents that reported once and have been silent past their threshold, with no agent incident yet,
# and the open gateway incident their cameras made meanwhile, if any.
_SILENT_SQL = """
SELECT g.id, g.code, g.district, gs.received_at, i.id AS incident_id,
       (SELECT count(*) FROM camera c WHERE c.gateway_id = g.id AND c.lifecycle IN ('active', 'maintenance'))
           AS cameras
FROM gateway g JOIN gateway_state gs ON gs.gateway_id = g.id
LEFT JOIN incident i ON i.kind = 'gateway' AND i.scope = g.id::text AND i.state = 'open'
WHERE g.kind = 'probe' AND g.lifecycle = 'active'
  AND gs.received_at + g.heartbeat_interval_s * :factor * interval '1 second' < :now
  AND (i.details->>'probe_agent') IS NULL
"""

_OPEN_SQL = """
INSERT INTO incident (kind, scope, district, state, cause, opened_at, details)
VALUES ('gateway', :scope, :district, 'open', :cause, :now, CAST(:details AS jsonb))
ON CONFLICT (kind, scope) WHERE state = 'open' DO NOTHING
RETURNING id
"""

_ADOPT_SQL = "UPDATE incident SET cause = :cause, details = details || CAST(:details AS jsonb) WHERE id = :incident"

# The agent's cameras gone offline since its last report and in no incident: theirs is the agent's.
_JOIN_SQL = """
WITH joined AS (
    UPDATE camera_health h SET incident_id = :incident
    WHERE h.gateway_id = :gateway AND h.rank = 0 AND h.incident_id IS NULL AND h.since > :last_report
    RETURNING h.camera_id
), events AS (
    UPDATE status_event e SET incident_id = :incident FROM joined j
    WHERE e.camera_id = j.camera_id AND e.to_status = 'offline' AND e.incident_id IS NULL
      AND e.at > :last_report
)
UPDATE incident i SET camera_ids = i.camera_ids || g.cams, camera_count = cardinality(i.camera_ids || g.cams)
FROM (SELECT coalesce(array_agg(camera_id), '{}') AS cams FROM joined) g
WHERE i.id = :incident
"""

_RECOVERED_SQL = """
UPDATE incident i SET state = 'closed', closed_at = :now
FROM gateway g JOIN gateway_state gs ON gs.gateway_id = g.id
WHERE i.state = 'open' AND i.kind = 'gateway' AND i.details->>'probe_agent' = 'true' AND i.scope = g.id::text
  AND gs.received_at + g.heartbeat_interval_s * :factor * interval '1 second' >= :now
  AND NOT EXISTS (SELECT 1 FROM camera_health h WHERE h.incident_id = i.id AND h.status = 'offline')
RETURNING i.id
"""


def silent_cause(code: str, cameras: int, since: datetime) -> str:
    """The incident's cause, one definition for every place that writes it."""
    return (
        f"probe agent {code} silent since {since.isoformat(timespec='seconds')}: "
        f"its {cameras} cameras are unobserved, not known to be down"
    )


async def open_for_silent_agents(session: AsyncSession, *, now: datetime, settings: HealthSettings) -> list[int]:
    """Open one incident per probe agent gone silent (or make its cameras' open one the agent's) and
    join the cameras it left; the ids opened."""
    rows = (await session.execute(text(_SILENT_SQL), {"now": now, "factor": settings.offline_factor})).all()
    opened: list[int] = []
    for row in rows:
        values = {
            "cause": silent_cause(row.code, row.cameras, row.received_at),
            "details": json.dumps({"probe_agent": True, "gateway_code": row.code, "gateway_silent": True}),
        }
        incident_id = row.incident_id
        if incident_id is None:
            incident_id = await session.scalar(
                text(_OPEN_SQL), {**values, "scope": str(row.id), "district": row.district, "now": now}
            )
            if incident_id is None:
                continue
            opened.append(incident_id)
        else:
            await session.execute(text(_ADOPT_SQL), {**values, "incident": incident_id})
        await session.execute(
            text(_JOIN_SQL), {"incident": incident_id, "gateway": row.id, "last_report": row.received_at}
        )
    return opened


async def close_for_recovered_agents(session: AsyncSession, *, now: datetime, settings: HealthSettings) -> list[int]:
    """Close the incidents of agents reporting again whose cameras are no longer offline; the ids closed."""
    closed = await session.execute(text(_RECOVERED_SQL), {"now": now, "factor": settings.offline_factor})
    ids = list(closed.scalars())
    if ids:
        await session.execute(
            text("UPDATE camera_health SET incident_id = NULL WHERE incident_id = ANY(:ids)"), {"ids": ids}
        )
    return ids
