"""Correlation: offline transitions that happen together become one incident (a gateway, a ward, a district,
or the ingest path), and incidents close when their cameras recover.

`assign` runs before the apply, so each transition is written with its incident; `close_incidents`
runs after it.
"""

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import probe_agents
from services.health.detection import fmt
from services.health.pass_result import Detected, PassResult
from services.health.settings import HealthSettings


@dataclass
class _Candidate:
    camera_id: uuid.UUID
    gateway_id: uuid.UUID | None
    ward: str | None
    district: str


async def close_incidents(session: AsyncSession, result: PassResult) -> None:
    """The ingest incident follows the guard; other incidents close once none of their cameras is offline."""
    now = result.as_of
    # The ingest path: one incident while the guard holds.
    if result.stale:
        age = (result.now - result.newest_heartbeat_at).total_seconds() if result.newest_heartbeat_at else None
        opened = await session.execute(
            text(
                """
                INSERT INTO incident (kind, scope, state, cause, opened_at, details)
                VALUES ('ingest', 'ingest', 'open', :cause, :now, CAST(:details AS jsonb))
                ON CONFLICT (kind, scope) WHERE state = 'open' DO NOTHING
                RETURNING id
                """
            ),
            {
                "cause": "no heartbeat from any camera for "
                f"{fmt(round(age or 0))} s: the ingest path is suspect, cameras are not being marked offline",
                "now": result.now,
                "details": f'{{"newest_heartbeat_at": "{result.newest_heartbeat_at.isoformat()}"}}'
                if result.newest_heartbeat_at
                else "{}",
            },
        )
        result.incidents_opened += list(opened.scalars())
    else:
        closed = await session.execute(
            text(
                "UPDATE incident SET state = 'closed', closed_at = :now"
                " WHERE kind = 'ingest' AND state = 'open' RETURNING id"
            ),
            {"now": result.now},
        )
        result.incidents_closed += list(closed.scalars())

    # Recovery: an incident closes once none of its cameras is offline any more.
    closed = await session.execute(
        text(
            """
            UPDATE incident i SET state = 'closed', closed_at = :now
            WHERE i.state = 'open' AND i.kind <> 'ingest' AND (i.details->>'probe_agent') IS NULL
              AND NOT EXISTS (SELECT 1 FROM camera_health h WHERE h.incident_id = i.id AND h.status = 'offline')
            RETURNING id
            """
        ),
        {"now": now},
    )
    closed_ids = list(closed.scalars())
    if closed_ids:
        await session.execute(
            text("UPDATE camera_health SET incident_id = NULL WHERE incident_id = ANY(:ids)"), {"ids": closed_ids}
        )
        result.incidents_closed += closed_ids


async def assign(
    session: AsyncSession, result: PassResult, settings: HealthSettings, detected: Sequence[Detected]
) -> dict[uuid.UUID, int]:
    """Decide, before anything is written, which of this pass's offline transitions belong to an incident
    (opening incidents as needed); earlier offline cameras that now complete a group are marked here."""
    now = result.as_of
    horizon = now - timedelta(seconds=settings.incident_window_s)
    going = {r.camera_id: r.old_since for r in detected if r.timing == 2 and r.old_status != "offline"}
    if not going:
        return {}
    rows = (
        await session.execute(
            text(
                """
                SELECT c.id, c.gateway_id, c.ward, c.district,
                       s.received_at + c.heartbeat_interval_s * :factor * interval '1 second' AS offline_since
                FROM camera c JOIN camera_state s ON s.camera_id = c.id
                WHERE c.id = ANY(:ids)
                """
            ),
            {"ids": list(going), "factor": settings.offline_factor},
        )
    ).all()
    # The moment each transition will carry (never before the previous one's), as the apply computes it.
    fresh = [
        _Candidate(r.id, r.gateway_id, r.ward, r.district)
        for r in rows
        if max(r.offline_since, going[r.id] or r.offline_since) > horizon
    ]
    if not fresh:
        return {}
    in_pass = {r.camera_id for r in detected}
    rows = (
        await session.execute(
            text(
                """
                SELECT camera_id, gateway_id, ward, district FROM camera_health
                WHERE rank = 0 AND since > CAST(:now AS timestamptz) - :window * interval '1 second'
                  AND incident_id IS NULL
                """
            ),
            {"now": now, "window": settings.incident_window_s},
        )
    ).all()
    earlier = [_Candidate(r.camera_id, r.gateway_id, r.ward, r.district) for r in rows if r.camera_id not in in_pass]
    candidates = fresh + earlier
    open_rows = (
        await session.execute(text("SELECT id, kind, scope FROM incident WHERE state = 'open' AND kind <> 'ingest'"))
    ).all()
    open_by_scope = {(r.kind, r.scope): r.id for r in open_rows}
    joins: dict[int, list[uuid.UUID]] = defaultdict(list)
    loose: list[_Candidate] = []
    for c in candidates:
        for kind, scope in (("gateway", c.gateway_id), ("ward", c.ward), ("district", c.district)):
            if scope is not None and (kind, str(scope)) in open_by_scope:
                joins[open_by_scope[(kind, str(scope))]].append(c.camera_id)
                break
        else:
            loose.append(c)
    for kind, key in (("gateway", "gateway_id"), ("ward", "ward"), ("district", "district")):
        groups: dict[str, list[_Candidate]] = defaultdict(list)
        for c in loose:
            scope = getattr(c, key)
            if scope is not None:
                groups[str(scope)].append(c)
        taken: set[uuid.UUID] = set()
        for scope, members in groups.items():
            if len(members) < settings.incident_min_cameras:
                continue
            cause, district, details = await _cause(session, kind, scope, members, settings)
            incident_id = (
                await session.execute(
                    text(
                        """
                        INSERT INTO incident (kind, scope, district, state, cause, opened_at, details)
                        VALUES (:kind, :scope, :district, 'open', :cause, :now, CAST(:details AS jsonb))
                        RETURNING id
                        """
                    ),
                    {
                        "kind": kind,
                        "scope": scope,
                        "district": district,
                        "cause": cause,
                        "now": now,
                        "details": details,
                    },
                )
            ).scalar_one()
            result.incidents_opened.append(incident_id)
            joins[incident_id].extend(m.camera_id for m in members)
            taken.update(m.camera_id for m in members)
        loose = [c for c in loose if c.camera_id not in taken]
    fresh_ids = {c.camera_id for c in fresh}
    assignment = {cam: incident_id for incident_id, cams in joins.items() for cam in cams if cam in fresh_ids}
    # Incidents list all their cameras; those of this pass get theirs as they are written.
    cams = [camera_id for camera_ids in joins.values() for camera_id in camera_ids]
    owners = [incident_id for incident_id, camera_ids in joins.items() for _ in camera_ids]
    if not cams:
        return assignment
    params = {"cams": cams, "owners": owners, "now": now, "window": settings.incident_window_s}
    unnested = "unnest(CAST(:cams AS uuid[]), CAST(:owners AS bigint[])) AS m(camera_id, incident_id)"
    await session.execute(
        text(
            f"""
            UPDATE incident i SET camera_ids = i.camera_ids || g.cams,
                                  camera_count = cardinality(i.camera_ids || g.cams)
            FROM (SELECT incident_id, array_agg(camera_id) AS cams FROM {unnested} GROUP BY incident_id) g
            WHERE i.id = g.incident_id
            """
        ),
        params,
    )
    late = [(c, i) for c, i in zip(cams, owners, strict=True) if c not in fresh_ids]
    if not late:
        return assignment
    params = {**params, "cams": [c for c, _ in late], "owners": [i for _, i in late]}
    await session.execute(
        text(f"UPDATE camera_health h SET incident_id = m.incident_id FROM {unnested} WHERE h.camera_id = m.camera_id"),
        params,
    )
    await session.execute(
        text(
            f"""
            UPDATE status_event e SET incident_id = m.incident_id FROM {unnested}
            WHERE e.camera_id = m.camera_id AND e.to_status = 'offline' AND e.incident_id IS NULL
              AND e.at > CAST(:now AS timestamptz) - :window * interval '1 second'
            """
        ),
        params,
    )
    return assignment


async def _cause(
    session: AsyncSession, kind: str, scope: str, members: list[_Candidate], settings: HealthSettings
) -> tuple[str, str | None, str]:
    """A human guess at why these cameras went dark together, the district, and details as JSON text."""
    n = len(members)
    window = fmt(settings.incident_window_s)
    districts = {m.district for m in members}
    district = next(iter(districts)) if len(districts) == 1 else None
    if kind == "gateway":
        gw = (
            await session.execute(
                text(
                    """
                    SELECT g.code, g.district, g.heartbeat_interval_s, g.kind, gs.received_at,
                           gs.received_at IS NULL
                           OR gs.received_at + g.heartbeat_interval_s * :factor * interval '1 second'
                              < clock_timestamp() AS silent
                    FROM gateway g LEFT JOIN gateway_state gs ON gs.gateway_id = g.id
                    WHERE g.id = CAST(:id AS uuid)
                    """
                ),
                {"id": scope, "factor": settings.offline_factor},
            )
        ).first()
        code = gw.code if gw else scope
        if gw is not None and gw.kind == "probe" and gw.silent and gw.received_at is not None:
            cause = probe_agents.silent_cause(code, n, gw.received_at)
            details = {"probe_agent": True, "gateway_code": code, "gateway_silent": True}
            return cause, gw.district, json.dumps(details)
        if gw is not None and gw.silent:
            cause = (
                f"gateway {code} and {n} cameras behind it went silent within {window} s: gateway or its uplink down"
            )
        else:
            cause = (
                f"{n} cameras behind gateway {code} went offline within {window} s while the gateway still "
                "reports: camera power or PoE on that gateway"
            )
        district = gw.district if gw else district
        return cause, district, json.dumps({"gateway_code": code, "gateway_silent": bool(gw and gw.silent)})
    area = "ward" if kind == "ward" else "district"
    cause = f"{n} cameras in {area} {scope} went offline within {window} s: likely a power or network outage there"
    return cause, scope if kind == "district" else district, json.dumps({area: scope})
