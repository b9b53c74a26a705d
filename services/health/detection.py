"""Detection: which cameras' verdicts moved since the last pass (the verdict SQL and the incremental candidates).

The verdict of every monitored camera is one integer (timing code x 32 + trouble bits). A full pass
computes it over the whole fleet; an incremental one over the cameras that reported, crossed a
threshold or were changed since the previous pass, plus a sweep slice. Only cameras whose verdict or
camera.version differ from camera_health go on to the apply (apply.py).
"""

import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.pass_result import Detected, Watermark
from services.health.settings import HealthSettings

# The parameters of the verdict SQL: thresholds, the reasons' wording and the pass's moments.
RuleParams = dict[str, float | int | bool | str | datetime]


def fmt(value: float) -> str:
    """A threshold as people write it (5, not 5.0)."""
    return f"{value:g}"


# The verdict of every monitored camera as one integer (timing code x 32 + trouble bits), computed over
# the whole fleet by a full pass and over the candidates of an incremental one; only cameras whose code
# or camera.version differ from camera_health are touched afterwards. {source} narrows it to the cameras
# found by the detection statement, each with the incident decided for it ({assigned}).
VERDICT_SQL = """
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
_DETECT_SQL = VERDICT_SQL.format(source="camera c", assigned="NULL::bigint").rstrip().rstrip(",") + _DETECT_TAIL

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
    VERDICT_SQL.format(
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


def rule_params(settings: HealthSettings, now: datetime, wall: datetime) -> RuleParams:
    """The verdict SQL's parameters for a pass deriving statuses as of `now` (`wall` is the clock)."""
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
        "r_fps": f"frame rate below {fmt(settings.min_fps)} fps",
        "r_loss": f"packet loss above {fmt(settings.max_packet_loss_pct)}%",
        "r_temp": f"temperature above {fmt(settings.max_temperature_c)} °C",
        "r_storage": f"storage below {fmt(settings.min_storage_free_pct)}% free",
        "flap_window": settings.flap_window_s,
        "flap_changes": settings.flap_changes,
    }


@asynccontextmanager
async def index_probes_only(session: AsyncSession, when: bool = True) -> AsyncIterator[None]:
    """Within the block (`when` so), join by index probes only: the statements in it touch a few
    thousand cameras. The rest of the transaction plans as usual."""
    if when:
        await session.execute(text("SET LOCAL enable_hashjoin = off"))
        await session.execute(text("SET LOCAL enable_mergejoin = off"))
    yield
    if when:
        await session.execute(text("SET LOCAL enable_hashjoin = on"))
        await session.execute(text("SET LOCAL enable_mergejoin = on"))


async def incremental(
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


async def detect(
    session: AsyncSession,
    *,
    settings: HealthSettings,
    params: RuleParams,
    previous: Watermark | None,
    stale: bool,
    as_of: datetime,
) -> tuple[list[Detected], int | None, float]:
    """The cameras whose verdict moved (at most max_changes_per_pass + 1, monitored ones first), how many
    an incremental pass derived (None: a full pass) and where the next sweep starts."""
    detect_sql, detect_params, sweep, derived = _DETECT_SQL, {}, 0.0, None
    found = None
    if previous is not None and previous.stale == stale and as_of >= previous.as_of:
        found = await incremental(session, settings, previous, as_of)
    if found is not None:
        ids, sweep = found
        derived, detect_sql, detect_params = len(ids), _DETECT_INCREMENTAL_SQL, {"ids": ids}
    # An incremental pass derives at most a sixth of the fleet, usually a few thousand cameras: probe
    # their rows by index rather than hash the whole fleet (90-130 ms when the planner chose to).
    async with index_probes_only(session, derived is not None):
        rows = await session.execute(
            text(detect_sql), {**params, **detect_params, "most": settings.max_changes_per_pass + 1}
        )
    detected = [Detected(r.camera_id, r.timing, r.old_status, r.old_since) for r in rows]
    return detected, derived, sweep
