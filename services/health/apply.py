"""Apply: write the detected cameras' new verdicts to camera_health and append their status_events.

Also the two set-based steps that follow every apply: flapping flags, and dropping the verdicts of
cameras that left health (planned, decommissioned).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.detection import VERDICT_SQL, RuleParams, index_probes_only
from shared.models import STATUS_RANKS


def _rank_of(column: str) -> str:
    """SQL for camera_health.rank of a status column (one definition: STATUS_RANKS)."""
    whens = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANKS.items())
    return f"CASE {column} {whens} END"


# Application: for the detected cameras only, describe the new verdict (status, reason, since), upsert it
# and append a status_event per status change. `at` is the moment the threshold was crossed (last
# heartbeat + offline_after), never the moment it was noticed. The verdict is recomputed here from
# the same snapshot as the description, so a heartbeat landing between the two statements is harmless.
_APPLY_SQL = (
    VERDICT_SQL.format(
        source="unnest(CAST(:ids AS uuid[]), CAST(:assigned AS bigint[])) AS m(camera_id, incident_id)"
        " JOIN camera c ON c.id = m.camera_id",
        assigned="m.incident_id",
    )
    + """described AS (
    SELECT ch.*, c.code, c.district, c.ward, c.vendor, c.model, c.kind, c.owner, c.gateway_id, c.tags,
           c.version, c.heartbeat_interval_s AS interval_s,
           CASE WHEN ch.timing <= 2 THEN (ARRAY['maintenance', 'unknown', 'offline'])[ch.timing + 1]
                WHEN ch.timing = 3 OR ch.bits <> 0 THEN 'degraded'
                ELSE 'online' END AS status,
           CASE ch.timing
               WHEN 0 THEN CAST(:now AS timestamptz)
               WHEN 1 THEN c.created_at
               WHEN 2 THEN s.received_at + c.heartbeat_interval_s * :factor * interval '1 second'
               WHEN 3 THEN s.received_at + (c.heartbeat_interval_s + :grace) * interval '1 second'
               ELSE s.received_at
           END AS natural_since,
           concat_ws('; ',
               CASE WHEN ch.bits & 1 <> 0 THEN :r_fps END,
               CASE WHEN ch.bits & 2 <> 0 THEN :r_loss END,
               CASE WHEN ch.bits & 4 <> 0 THEN :r_temp END,
               CASE WHEN ch.bits & 8 <> 0 THEN :r_storage END,
               CASE WHEN ch.bits & 16 <> 0 THEN 'errors reported: ' || array_to_string(s.errors[1:5], ', ') END
           ) AS trouble
    FROM changed ch
    JOIN camera c ON c.id = ch.camera_id
    LEFT JOIN camera_state s ON s.camera_id = ch.camera_id
),
verdicts AS (
    SELECT d.*,
           CASE d.timing
               WHEN 0 THEN 'in maintenance'
               WHEN 1 THEN 'never reported'
               WHEN 2 THEN 'no heartbeat for more than ' || (d.interval_s * :factor)::float8 || ' s'
               WHEN 3 THEN concat_ws('; ', 'heartbeat late (expected every ' || d.interval_s || ' s)',
                                     NULLIF(d.trouble, ''))
               ELSE COALESCE(NULLIF(d.trouble, ''), 'reporting normally')
           END AS reason,
           CASE
               WHEN d.old_status IS NOT DISTINCT FROM d.status THEN d.old_since
               ELSE LEAST(CAST(:now AS timestamptz), GREATEST(d.natural_since, d.old_since))
           END AS new_since,
           CASE WHEN d.status = 'offline' AND d.assigned IS NOT NULL THEN d.assigned
                ELSE d.old_incident END AS incident
    FROM described d
),
updated AS (
    UPDATE camera_health h SET
        status = v.status, reason = v.reason, since = v.new_since, evaluated_at = :wall,
        rank = {rank_v},
        code = v.code, district = v.district, ward = v.ward, vendor = v.vendor, model = v.model, kind = v.kind,
        owner = v.owner, gateway_id = v.gateway_id, tags = v.tags, interval_s = v.interval_s,
        verdict = v.verdict, camera_version = v.version, incident_id = v.incident
    FROM verdicts v
    WHERE h.camera_id = v.camera_id AND NOT v.is_new
    RETURNING 1
),
inserted AS (
    INSERT INTO camera_health (camera_id, status, reason, since, evaluated_at, rank, code, district, ward,
                               vendor, model, kind, owner, gateway_id, tags, interval_s, flapping, verdict,
                               camera_version, incident_id)
    SELECT camera_id, status, reason, new_since, :wall,
           {rank_status},
           code, district, ward, vendor, model, kind, owner, gateway_id, tags, interval_s, false, verdict, version,
           incident
    FROM verdicts
    WHERE is_new
    ON CONFLICT (camera_id) DO NOTHING
    RETURNING 1
),
events AS (
    INSERT INTO status_event (camera_id, code, district, ward, from_status, to_status, reason, at,
                              incident_id, damped)
    SELECT v.camera_id, v.code, v.district, v.ward, v.old_status, v.status, v.reason, v.new_since,
           v.incident,
           v.old_status IS NOT NULL AND (
               SELECT count(*) FROM status_event e
               WHERE e.camera_id = v.camera_id
                 AND e.at > CAST(:now AS timestamptz) - :flap_window * interval '1 second'
                 AND e.from_status IS NOT NULL
           ) + 1 > :flap_changes
    FROM verdicts v
    WHERE v.old_status IS DISTINCT FROM v.status
    ORDER BY v.new_since, v.camera_id
    RETURNING id
)
SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS changed,
       (SELECT count(*) FROM events) AS events,
       (SELECT min(id) FROM events) AS first_event,
       (SELECT max(id) FROM events) AS last_event
""".replace("{rank_v}", _rank_of("v.status")).replace("{rank_status}", _rank_of("status"))
)


_FLAPPING_SQL = """
WITH flappers AS (
    SELECT camera_id FROM status_event
    WHERE at > CAST(:now AS timestamptz) - :flap_window * interval '1 second' AND from_status IS NOT NULL
    GROUP BY camera_id HAVING count(*) > :flap_changes
),
raised AS (
    UPDATE camera_health h SET flapping = true FROM flappers f
    WHERE h.camera_id = f.camera_id AND NOT h.flapping RETURNING 1
),
lowered AS (
    UPDATE camera_health h SET flapping = false
    WHERE h.flapping AND h.camera_id NOT IN (SELECT camera_id FROM flappers) RETURNING 1
)
SELECT (SELECT count(*) FROM raised) + (SELECT count(*) FROM lowered)
"""

# Planned and decommissioned cameras are left out of health: their verdicts are dropped.
_EXCLUDE_SQL = """
DELETE FROM camera_health h USING camera c
WHERE c.id = h.camera_id AND c.lifecycle IN ('planned', 'decommissioned')
"""


@dataclass(frozen=True)
class Applied:
    """What the apply wrote: verdicts changed, events appended and the range of their ids."""

    changed: int
    events: int
    first_event_id: int | None
    last_event_id: int | None


async def exclude_unmonitored(session: AsyncSession) -> int:
    """Drop the verdicts of planned and decommissioned cameras; how many."""
    return (await session.execute(text(_EXCLUDE_SQL))).rowcount or 0  # type: ignore[attr-defined]


async def apply_verdicts(
    session: AsyncSession, *, params: RuleParams, ids: list[uuid.UUID], assigned: list[int | None]
) -> Applied:
    """Describe and write the new verdicts of `ids` (each with its incident, or None) and their events."""
    # At most max_changes_per_pass cameras: index probes beat hashing the whole fleet again.
    async with index_probes_only(session):
        row = (await session.execute(text(_APPLY_SQL), {**params, "ids": ids, "assigned": assigned})).one()
    return Applied(row.changed, row.events, row.first_event, row.last_event)


async def mark_flapping(session: AsyncSession, *, params: RuleParams) -> int:
    """Raise and lower camera_health.flapping from the recent events; how many flags changed."""
    flap = {k: params[k] for k in ("now", "flap_window", "flap_changes")}
    return int((await session.execute(text(_FLAPPING_SQL), flap)).scalar_one())
