"""The one status derivation: a set-based pass that turns registry + latest heartbeats into verdicts.

Every health read (summary, groups, lists, detail, map, metrics) reads what this pass wrote into
camera_health, so they all give the same answer for the same moment (health_meta.as_of).
"""

import json
import logging
import math
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import probe_agents
from services.health.settings import HealthSettings, get_health_settings
from shared.notify import STATUS_EVENT

log = logging.getLogger(__name__)

RANKS = {"offline": 0, "degraded": 1, "unknown": 2, "online": 3, "maintenance": 4}


def _fmt(value: float) -> str:
    return f"{value:g}"


# The verdict of every monitored camera as one integer (timing code x 32 + trouble bits), computed over
# the whole fleet by a full pass and over the candidates of an incremental one; only cameras whose code
# or camera.version differ from camera_health are touched afterwards. {source} narrows it to the cameras
# found by the detection statement, each with the incident decided for it ({assigned}).
_VERDICT_SQL = """
WITH derived AS (
    SELECT c.id AS camera_id, c.version, {assigned} AS assigned,
           t.timing * 32 + CASE WHEN t.timing <= 2 THEN 0 ELSE
                 (CASE WHEN s.fps < :min_fps THEN 1 ELSE 0 END)
               + (CASE WHEN s.packet_loss_pct > :max_loss THEN 2 ELSE 0 END)
               + (CASE WHEN s.temperature_c > :max_temp THEN 4 ELSE 0 END)
               + (CASE WHEN s.storage_free_pct < :min_storage THEN 8 ELSE 0 END)
               + (CASE WHEN :errors_degrade AND cardinality(s.errors) > 0 THEN 16 ELSE 0 END)
           END AS verdict
    FROM {source}
    LEFT JOIN camera_state s ON s.camera_id = c.id
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN c.lifecycle = 'maintenance' THEN 0
            WHEN s.received_at IS NULL THEN 1
            WHEN s.received_at + c.heartbeat_interval_s * :factor * interval '1 second' < :now THEN 2
            WHEN s.received_at + (c.heartbeat_interval_s + :grace) * interval '1 second' < :now THEN 3
            ELSE 4
        END AS timing
    ) t
    WHERE c.lifecycle IN ('active', 'maintenance')
),
changed AS (
    SELECT d.camera_id, d.verdict, d.verdict / 32 AS timing, d.verdict % 32 AS bits, h.camera_id IS NULL AS is_new,
           d.assigned,
           h.status AS old_status, h.since AS old_since, h.incident_id AS old_incident
    FROM derived d
    LEFT JOIN camera_health h ON h.camera_id = d.camera_id
    WHERE h.camera_id IS NULL OR h.verdict <> d.verdict OR h.camera_version <> d.version
),
"""

_DETECT_TAIL = "\nSELECT camera_id, timing, old_status, old_since FROM changed ORDER BY is_new LIMIT :most"

# Detection: cheap, integer-only, over the whole fleet.
# Cameras already monitored come first, so a bulk import never delays an offline flip.
_DETECT_SQL = _VERDICT_SQL.format(source="camera c", assigned="NULL::bigint").rstrip().rstrip(",") + _DETECT_TAIL

# Between full passes a verdict can only change for a camera that reported, crossed a threshold, or was
# changed by the registry; the sweep re-derives a slice of the table's pages each pass as well, so
# anything missed (a heartbeat committed later than the margin allows) is put right within sweep_every_s.
# A heartbeat counts once: only rows written by a transaction the previous pass's snapshot could not see
# (xmin at or past its xmax, in 32-bit wrap-around order, or among its in-progress xids). That test is
# exact for top-level transactions, which is how ingest writes camera_state (no savepoints).
_CANDIDATES_SQL = """
SELECT camera_id FROM camera_state
WHERE received_at >= :since
  AND ((xmin::text::bigint - :snapshot_xmax + 4294967296) % 4294967296 < 2147483648
       OR xmin::text::bigint = ANY(CAST(:snapshot_xip AS bigint[])))
UNION
SELECT s.camera_id
FROM unnest(CAST(:window_lo AS timestamptz[]), CAST(:window_hi AS timestamptz[])) AS w(lo, hi)
JOIN camera_state s ON s.received_at BETWEEN w.lo AND w.hi
UNION
SELECT id FROM camera WHERE updated_at >= :changed_since
UNION
SELECT id FROM camera WHERE ctid >= CAST(:sweep_lo AS tid) AND ctid < CAST(:sweep_hi AS tid)
LIMIT :ceiling
"""

# The fleet's distinct heartbeat intervals, one index probe each (a handful), instead of reading every camera.
_INTERVALS_SQL = """
WITH RECURSIVE found AS (
    (SELECT heartbeat_interval_s AS interval_s FROM camera ORDER BY heartbeat_interval_s LIMIT 1)
    UNION ALL
    SELECT (SELECT heartbeat_interval_s FROM camera WHERE heartbeat_interval_s > found.interval_s
            ORDER BY heartbeat_interval_s LIMIT 1)
    FROM found WHERE found.interval_s IS NOT NULL
)
SELECT interval_s FROM found WHERE interval_s IS NOT NULL
"""

_DETECT_INCREMENTAL_SQL = (
    _VERDICT_SQL.format(
        source="unnest(CAST(:ids AS uuid[])) AS m(camera_id) JOIN camera c ON c.id = m.camera_id",
        assigned="NULL::bigint",
    )
    .rstrip()
    .rstrip(",")
    + _DETECT_TAIL
)

# How late a heartbeat may commit after its received_at and still be found by the next incremental
# pass: ingest answers 503 once a heartbeat has waited 2 s, and a flush takes milliseconds.
COMMIT_MARGIN = timedelta(seconds=5)
# The same for a registry change, whose updated_at is its transaction's start: an import of 10,000 rows
# is one transaction of up to 10 s.
REGISTRY_MARGIN = timedelta(seconds=30)

# Application: for the detected cameras only, describe the new verdict (status, reason, since), upsert it
# and append a status_event per status change. `at` is the moment the threshold was crossed (last
# heartbeat + offline_after), never the moment it was noticed. The verdict is recomputed here from
# the same snapshot as the description, so a heartbeat landing between the two statements is harmless.
_APPLY_SQL = (
    _VERDICT_SQL.format(
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
        rank = CASE v.status WHEN 'offline' THEN 0 WHEN 'degraded' THEN 1 WHEN 'unknown' THEN 2
                             WHEN 'online' THEN 3 ELSE 4 END,
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
           CASE status WHEN 'offline' THEN 0 WHEN 'degraded' THEN 1 WHEN 'unknown' THEN 2
                       WHEN 'online' THEN 3 ELSE 4 END,
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
"""
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
class Watermark:
    """Where a pass left off: what the next, incremental, pass must look at again."""

    wall: datetime
    as_of: datetime
    stale: bool
    # pg_current_snapshot() as text, taken before the pass read anything: what it had seen.
    snapshot: str
    # Where the next pass's sweep starts, in pages of the camera table (a slice can be under a page).
    sweep_position: float


@dataclass
class PassResult:
    """What one evaluator pass did."""

    now: datetime
    as_of: datetime
    stale: bool
    newest_heartbeat_at: datetime | None
    full: bool = True
    watermark: Watermark | None = None
    # The cameras an incremental pass derived (a full pass derives them all).
    derived: int | None = None
    changed: int = 0
    events: int = 0
    first_event_id: int | None = None
    last_event_id: int | None = None
    removed: int = 0
    flapping_changed: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    incidents_closed: list[int] = field(default_factory=list)
    deliveries: int = 0
    backlog: bool = False
    generation: int | None = None
    stages_ms: dict[str, float] = field(default_factory=dict)
    duration_ms: float = 0.0


def _params(settings: HealthSettings, now: datetime, wall: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "wall": wall,
        "factor": settings.offline_factor,
        "grace": settings.grace_s,
        "min_fps": settings.min_fps,
        "max_loss": settings.max_packet_loss_pct,
        "max_temp": settings.max_temperature_c,
        "min_storage": settings.min_storage_free_pct,
        "errors_degrade": settings.errors_degrade,
        "r_fps": f"frame rate below {_fmt(settings.min_fps)} fps",
        "r_loss": f"packet loss above {_fmt(settings.max_packet_loss_pct)}%",
        "r_temp": f"temperature above {_fmt(settings.max_temperature_c)} °C",
        "r_storage": f"storage below {_fmt(settings.min_storage_free_pct)}% free",
        "flap_window": settings.flap_window_s,
        "flap_changes": settings.flap_changes,
    }


async def evaluate(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    settings: HealthSettings | None = None,
    leader: str | None = None,
    previous: Watermark | None = None,
) -> PassResult:
    """One evaluator pass (set-based SQL): over every camera, or since `previous`; the caller commits.

    `now` defaults to the DB clock. An incremental pass (after `previous`, with the stale guard as it
    was) derives only the cameras whose verdict can have moved; a full pass derives all of them.
    """
    started = time.perf_counter()
    settings = settings or get_health_settings()
    row = (
        await session.execute(
            text(
                "SELECT clock_timestamp() AS wall, CAST(pg_current_snapshot() AS text) AS snapshot,"
                " (SELECT max(received_at) FROM camera_state) AS newest,"
                " (SELECT count(*) FROM (SELECT 1 FROM camera_state LIMIT :enough) x) AS reporting"
            ),
            {"enough": settings.stale_min_cameras},
        )
    ).one()
    wall: datetime = now or row.wall
    newest: datetime | None = row.newest
    as_of = wall
    stale = False
    if newest is not None and row.reporting >= settings.stale_min_cameras:
        frozen = newest + timedelta(seconds=settings.stale_after_s)
        if wall > frozen:
            # Silence everywhere at once is the ingest path, not the cameras: time stops for the
            # offline rule at the moment the silence became suspicious, so nothing flips offline.
            stale, as_of = True, frozen
    params = _params(settings, as_of, wall)
    result = PassResult(now=wall, as_of=as_of, stale=stale, newest_heartbeat_at=newest)

    # A pass is one big plan over every camera: JIT compilation would cost more than the pass itself,
    # and the hash joins should stay in memory.
    await session.execute(text("SET LOCAL jit = off"))
    # Planned for this pass's own times: a generic plan of the incremental detection guesses a third of
    # the fleet behind `received_at >= $1` and scans every heartbeat (measured: 100 ms instead of 20).
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    result.removed = (await session.execute(text(_EXCLUDE_SQL))).rowcount or 0  # type: ignore[attr-defined]
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now_ = time.perf_counter()
        result.stages_ms[name] = round((now_ - mark) * 1000, 1)
        mark = now_

    most = settings.max_changes_per_pass
    detect, detect_params, sweep = _DETECT_SQL, {}, 0.0
    found = None
    if previous is not None and previous.stale == stale and as_of >= previous.as_of:
        found = await _incremental(session, settings, previous, as_of)
    if found is not None:
        ids, sweep = found
        result.full, result.derived = False, len(ids)
        detect, detect_params = _DETECT_INCREMENTAL_SQL, {"ids": ids}
    # An incremental pass derives at most a sixth of the fleet, usually a few thousand cameras: probe
    # their rows by index rather than hash the whole fleet (90-130 ms when the planner chose to).
    async with _index_probes_only(session, not result.full):
        detected = (await session.execute(text(detect), {**params, **detect_params, "most": most + 1})).all()
    candidates = [r.camera_id for r in detected]
    if len(candidates) > most:
        # Bounded work per pass: the rest follows in the next pass, which the loop starts at once.
        candidates, detected, result.backlog = candidates[:most], detected[:most], True
    if not result.backlog:
        # After a backlog the next pass is a full one: what was left over may be older than any margin.
        result.watermark = Watermark(wall, as_of, stale, row.snapshot, sweep)
    stage("detect")
    # Before the assignment, so the cameras of an agent that just went silent join its one incident.
    result.incidents_opened += await probe_agents.open_for_silent_agents(session, now=as_of, settings=settings)
    assignment = await _assign(session, result, settings, detected) if candidates else {}
    stage("incidents")
    if candidates:
        # At most max_changes_per_pass cameras: index probes beat hashing the whole fleet again.
        async with _index_probes_only(session):
            counts = (
                await session.execute(
                    text(_APPLY_SQL),
                    {**params, "ids": candidates, "assigned": [assignment.get(c) for c in candidates]},
                )
            ).one()
        result.changed, result.events = counts.changed, counts.events
        result.first_event_id, result.last_event_id = counts.first_event, counts.last_event
    stage("apply")
    result.flapping_changed = (
        await session.execute(
            text(_FLAPPING_SQL),
            {"now": as_of, "flap_window": settings.flap_window_s, "flap_changes": settings.flap_changes},
        )
    ).scalar_one()
    stage("flapping")
    await _close(session, result)
    result.incidents_closed += await probe_agents.close_for_recovered_agents(session, now=as_of, settings=settings)
    stage("recoveries")
    from services.health.webhooks import enqueue_for_pass  # the webhook module imports this one

    result.deliveries = await enqueue_for_pass(session, result)
    stage("webhooks")
    if result.last_event_id is not None:
        await session.execute(
            text("SELECT pg_notify(:channel, json_build_object('id', CAST(:id AS bigint))::text)"),
            {"channel": STATUS_EVENT, "id": result.last_event_id},
        )
    touched = (
        result.changed or result.removed or result.flapping_changed or result.incidents_opened
    ) or result.incidents_closed
    result.duration_ms = (time.perf_counter() - started) * 1000
    meta = await session.execute(
        text(
            """
            WITH counts AS (
                SELECT jsonb_build_object(
                    'by_status', COALESCE((SELECT jsonb_object_agg(status, n) FROM (
                        SELECT status, count(*) AS n FROM camera_health GROUP BY status) x), '{}'::jsonb),
                    'by_district', COALESCE((SELECT jsonb_object_agg(district, st) FROM (
                        SELECT district, jsonb_object_agg(status, n) AS st FROM (
                            SELECT district, status, count(*) AS n FROM camera_health GROUP BY 1, 2) a
                        GROUP BY district) b), '{}'::jsonb),
                    'flapping', (SELECT count(*) FROM camera_health WHERE flapping),
                    'open_incidents', (SELECT count(*) FROM incident WHERE state = 'open')
                ) AS counts
                WHERE :bump OR NOT EXISTS (SELECT 1 FROM health_meta WHERE id = 1 AND counts IS NOT NULL)
            )
            INSERT INTO health_meta AS m (id, generation, evaluated_at, as_of, stale, newest_heartbeat_at,
                                          leader, pass_ms, counts)
            VALUES (1, :generation, :wall, :as_of, :stale, :newest, :leader, :pass_ms, (SELECT counts FROM counts))
            ON CONFLICT (id) DO UPDATE SET
                generation = CASE WHEN :bump OR m.stale <> EXCLUDED.stale OR m.counts IS NULL
                                  THEN EXCLUDED.generation ELSE m.generation END,
                counts = COALESCE(EXCLUDED.counts, m.counts),
                evaluated_at = EXCLUDED.evaluated_at, as_of = EXCLUDED.as_of, stale = EXCLUDED.stale,
                newest_heartbeat_at = EXCLUDED.newest_heartbeat_at, leader = EXCLUDED.leader,
                pass_ms = EXCLUDED.pass_ms
            RETURNING generation
            """
        ),
        {
            "generation": secrets.randbits(62),
            "bump": bool(touched),
            "wall": wall,
            "as_of": as_of,
            "stale": stale,
            "newest": newest,
            "leader": leader,
            "pass_ms": result.duration_ms,
        },
    )
    result.generation = meta.scalar_one()
    return result


@asynccontextmanager
async def _index_probes_only(session: AsyncSession, when: bool = True) -> AsyncIterator[None]:
    """Within the block (`when` so), join by index probes only: the statements in it touch a few
    thousand cameras. The rest of the transaction plans as usual."""
    if when:
        await session.execute(text("SET LOCAL enable_hashjoin = off"))
        await session.execute(text("SET LOCAL enable_mergejoin = off"))
    yield
    if when:
        await session.execute(text("SET LOCAL enable_hashjoin = on"))
        await session.execute(text("SET LOCAL enable_mergejoin = on"))


async def _incremental(
    session: AsyncSession, settings: HealthSettings, previous: Watermark, as_of: datetime
) -> tuple[list[uuid.UUID], float] | None:
    """The cameras an incremental pass derives and where the next sweep starts; None when a full pass is
    the cheaper: a full pass costs about 1.5 us per camera (hash joins), an incremental one about 10 us
    per camera it derives (index probes), so past a sixth of the fleet."""
    fleet = await session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'camera'::regclass"))
    ceiling = max(1_000, int(fleet or 0) // 6)
    intervals = list((await session.execute(text(_INTERVALS_SQL))).scalars())
    # A camera crosses a threshold X (offline_after, or one interval and the grace) between the two passes
    # when its last heartbeat lies in [previous as_of - X, as_of - X): one index range per X.
    window_lo, window_hi = [], []
    for interval in intervals:
        for threshold_s in {interval * settings.offline_factor, interval + settings.grace_s}:
            threshold = timedelta(seconds=threshold_s)
            window_lo.append(previous.as_of - threshold - timedelta(milliseconds=1))
            window_hi.append(as_of - threshold)
    pages = int(await session.scalar(text("SELECT pg_relation_size('camera') / current_setting('block_size')::int")))
    start = previous.sweep_position if previous.sweep_position < pages else 0.0
    end = start + pages * settings.evaluate_every_s / settings.sweep_every_s
    _, snapshot_xmax, in_progress = previous.snapshot.split(":")
    found = await session.execute(
        text(_CANDIDATES_SQL),
        {
            "since": previous.wall - COMMIT_MARGIN,
            "snapshot_xmax": int(snapshot_xmax) % 2**32,
            "snapshot_xip": [int(xid) % 2**32 for xid in in_progress.split(",") if xid],
            "window_lo": window_lo,
            "window_hi": window_hi,
            "changed_since": previous.wall - REGISTRY_MARGIN,
            "sweep_lo": (math.floor(start), 0),
            "sweep_hi": (math.floor(end), 0),
            "ceiling": ceiling,
        },
    )
    ids = list(found.scalars())
    if len(ids) >= ceiling:
        return None
    return ids, end if end < pages else 0.0


@dataclass
class _Candidate:
    camera_id: uuid.UUID
    gateway_id: uuid.UUID | None
    ward: str | None
    district: str


async def _close(session: AsyncSession, result: PassResult) -> None:
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
                f"{_fmt(round(age or 0))} s: the ingest path is suspect, cameras are not being marked offline",
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


async def _assign(
    session: AsyncSession, result: PassResult, settings: HealthSettings, detected: Sequence[Any]
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
    window = _fmt(settings.incident_window_s)
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
