"""Retention: what is pruned by age, what is always kept, and one replica at a time."""

import uuid
from datetime import timedelta

from sqlalchemy import text

from services.health import retention
from services.health.settings import HealthSettings
from shared.db import make_sessionmaker
from tests.health.conftest import T0, add_camera

DAY = timedelta(days=1)


async def _event(session, camera_id: uuid.UUID, when, to: str) -> int:
    return int(
        await session.scalar(
            text(
                "INSERT INTO status_event (camera_id, code, district, to_status, reason, at)"
                " VALUES (:id, 'x', 'Q1', :to, 'r', :at) RETURNING id"
            ),
            {"id": camera_id, "to": to, "at": when},
        )
    )


async def test_old_transitions_go_but_each_cameras_newest_stays(session) -> None:
    camera = await add_camera(session, "Q1-RET")
    quiet = await add_camera(session, "Q1-QUIET")
    old = await _event(session, camera, T0 - 500 * DAY, "online")
    last_before = await _event(session, camera, T0 - 450 * DAY, "offline")
    recent = await _event(session, camera, T0 - 10 * DAY, "online")
    only = await _event(session, quiet, T0 - 900 * DAY, "online")
    deleted = await retention.prune(session, settings=HealthSettings(), now=T0)
    left = set((await session.execute(text("SELECT id FROM status_event"))).scalars())
    assert deleted["status_event"] == 1
    assert left == {last_before, recent, only} and old not in left


async def test_closed_incidents_go_after_their_days_and_open_ones_stay(session) -> None:
    rows = [("closed", T0 - 500 * DAY), ("closed", T0 - 10 * DAY), ("open", None)]
    for state, closed_at in rows:
        await session.execute(
            text(
                "INSERT INTO incident (kind, scope, state, cause, opened_at, closed_at)"
                " VALUES ('district', :scope, :state, 'c', :opened, :closed)"
            ),
            {"scope": str(uuid.uuid4()), "state": state, "opened": T0 - 600 * DAY, "closed": closed_at},
        )
    await retention.prune(session, settings=HealthSettings(), now=T0)
    left = (await session.execute(text("SELECT state, closed_at FROM incident ORDER BY id"))).all()
    assert [(r.state, r.closed_at) for r in left] == rows[1:]


async def test_delivery_logs_are_short_and_pending_deliveries_are_kept(session) -> None:
    hook = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO webhook (id, name, url, secret, created_by) VALUES (:id, 'h', 'https://x.example', 's', 't')"
        ),
        {"id": hook},
    )
    for state, age in (("delivered", 20), ("failed", 20), ("pending", 20), ("delivered", 3)):
        await session.execute(
            text(
                "INSERT INTO webhook_delivery (webhook_id, event, payload, state, next_attempt_at, created_at)"
                " VALUES (:hook, 'status', '{}', :state, :at, :at)"
            ),
            {"hook": hook, "state": state, "at": T0 - age * DAY},
        )
    deleted = await retention.prune(session, settings=HealthSettings(), now=T0)
    rows = await session.execute(text("SELECT state, created_at FROM webhook_delivery"))
    left = {(r.state, r.created_at == T0 - 20 * DAY) for r in rows}
    assert deleted["webhook_delivery"] == 2
    assert left == {("pending", True), ("delivered", False)}


async def test_audit_rows_are_kept_long(session) -> None:
    camera = await add_camera(session, "Q1-AUD")
    for age in (500, 300):
        await session.execute(
            text("INSERT INTO camera_change (camera_id, action, actor, at) VALUES (:id, 'updated', 'a', :at)"),
            {"id": camera, "at": T0 - age * DAY},
        )
    deleted = await retention.prune(session, settings=HealthSettings(), now=T0)
    ages = list(
        (await session.execute(text("SELECT at FROM camera_change WHERE camera_id = :id"), {"id": camera})).scalars()
    )
    assert deleted["camera_change"] == 1
    assert ages == [T0 - 300 * DAY]


async def test_a_round_is_skipped_while_another_replica_holds_the_lock(live) -> None:
    sessionmaker = make_sessionmaker(live)
    async with live.connect() as other:
        await other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": retention.LOCK_KEY})
        assert await retention.run_once(sessionmaker, HealthSettings()) is None
        await other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": retention.LOCK_KEY})
    assert await retention.run_once(sessionmaker, HealthSettings()) == {table.table: 0 for table in retention.RULES}
