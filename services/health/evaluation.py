"""The one status derivation: a set-based pass that turns registry + latest heartbeats into verdicts.

Every health read (summary, groups, lists, detail, map, metrics) reads what this pass wrote into
camera_health, so they all give the same answer for the same moment (health_meta.as_of). A pass is
detection (detection.py) -> incident assignment (correlation.py) -> apply (apply.py) -> flapping and
recoveries -> NOTIFY and health_meta. What follows a pass (the webhook outbox) is the evaluator's
(evaluator.py), in the same transaction: this module imports nothing of webhooks.
"""

import secrets
import time
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import apply, correlation, detection, probe_agents
from services.health.pass_result import PassResult, Watermark
from services.health.settings import HealthSettings, get_health_settings
from shared.notify import STATUS_EVENT

_META_SQL = """
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
    params = detection.rule_params(settings, as_of, wall)
    result = PassResult(now=wall, as_of=as_of, stale=stale, newest_heartbeat_at=newest)

    # A pass is one big plan over every camera: JIT compilation would cost more than the pass itself,
    # and the hash joins should stay in memory.
    await session.execute(text("SET LOCAL jit = off"))
    # Planned for this pass's own times: a generic plan of the incremental detection guesses a third of
    # the fleet behind `received_at >= $1` and scans every heartbeat (measured: 100 ms instead of 20).
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    result.removed = await apply.exclude_unmonitored(session)
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now_ = time.perf_counter()
        result.stages_ms[name] = round((now_ - mark) * 1000, 1)
        mark = now_

    most = settings.max_changes_per_pass
    detected, result.derived, sweep = await detection.detect(
        session, settings=settings, params=params, previous=previous, stale=stale, as_of=as_of
    )
    result.full = result.derived is None
    if len(detected) > most:
        # Bounded work per pass: the rest follows in the next pass, which the loop starts at once.
        detected, result.backlog = detected[:most], True
    if not result.backlog:
        # After a backlog the next pass is a full one: what was left over may be older than any margin.
        result.watermark = Watermark(wall, as_of, stale, row.snapshot, sweep)
    stage("detect")
    # Before the assignment, so the cameras of an agent that just went silent join its one incident.
    result.incidents_opened += await probe_agents.open_for_silent_agents(session, now=as_of, settings=settings)
    assignment = await correlation.assign(session, result, settings, detected) if detected else {}
    stage("incidents")
    if detected:
        candidates = [d.camera_id for d in detected]
        applied = await apply.apply_verdicts(
            session, params=params, ids=candidates, assigned=[assignment.get(c) for c in candidates]
        )
        result.changed, result.events = applied.changed, applied.events
        result.first_event_id, result.last_event_id = applied.first_event_id, applied.last_event_id
    stage("apply")
    result.flapping_changed = await apply.mark_flapping(session, params=params)
    stage("flapping")
    await correlation.close_incidents(session, result)
    result.incidents_closed += await probe_agents.close_for_recovered_agents(session, now=as_of, settings=settings)
    stage("recoveries")
    if result.last_event_id is not None:
        # Delivered at commit, with the outbox rows the evaluator adds after this function returns.
        await session.execute(
            text("SELECT pg_notify(:channel, json_build_object('id', CAST(:id AS bigint))::text)"),
            {"channel": STATUS_EVENT, "id": result.last_event_id},
        )
    touched = (
        result.changed or result.removed or result.flapping_changed or result.incidents_opened
    ) or result.incidents_closed
    result.duration_ms = (time.perf_counter() - started) * 1000
    meta = await session.execute(
        text(_META_SQL),
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
