import asyncio
import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared import migrate
from shared.db import make_engine
from shared.models import (
    AREA_LEVELS,
    CAMERA_KINDS,
    DELIVERY_STATES,
    INCIDENT_KINDS,
    INCIDENT_STATES,
    LIFECYCLES,
    ROLES,
    STATUS_RANKS,
    STATUSES,
)
from tests.conftest import scratch_database


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_leaves_no_drift() -> None:
    async with scratch_database("migrations") as url:
        await asyncio.to_thread(migrate.downgrade, url, "base")
        assert await _tables(url) == {"alembic_version"}
        await asyncio.to_thread(migrate.upgrade, url)
        # alembic check raises when the models and the migrated schema differ.
        await asyncio.to_thread(migrate.check, url)
        assert {"camera", "area", "api_key", "heartbeat", "status_event"} <= await _tables(url)


async def test_first_migration_seeds_the_22_districts(session) -> None:
    rows = (await session.execute(text("SELECT code FROM area WHERE level = 'district'"))).scalars().all()
    assert len(rows) == 22
    assert {"Q1", "BTH", "TDU", "CGI"} <= set(rows)


async def test_database_refuses_an_interval_below_5_seconds(session) -> None:
    with pytest.raises(IntegrityError):
        await session.execute(
            text(
                "INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s)"
                " VALUES (gen_random_uuid(), 'X-1', 'x', 10.8, 106.7, 'Q1', 4)"
            )
        )


@pytest.mark.parametrize(
    ("constraint", "values"),
    [
        ("ck_camera_kind", CAMERA_KINDS),
        ("ck_camera_lifecycle", LIFECYCLES),
        ("ck_gateway_lifecycle", LIFECYCLES),
        ("ck_api_key_role", ROLES),
        ("ck_area_level", AREA_LEVELS),
        ("ck_camera_health_status", STATUSES),
        ("ck_status_event_from_status", STATUSES),
        ("ck_status_event_to_status", STATUSES),
        ("ck_incident_kind", INCIDENT_KINDS),
        ("ck_incident_state", INCIDENT_STATES),
        ("ck_webhook_delivery_state", DELIVERY_STATES),
    ],
)
async def test_migrated_checks_allow_exactly_the_models_lists(session, constraint, values) -> None:
    # alembic check does not compare CHECK constraints, so a list changed without a migration shows here.
    definition = await session.scalar(
        text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"), {"name": constraint}
    )
    assert tuple(re.findall(r"'([^']*)'", definition)) == values


def test_every_status_has_one_rank() -> None:
    assert sorted(STATUS_RANKS) == sorted(STATUSES)
    assert sorted(STATUS_RANKS.values()) == list(range(len(STATUSES)))


async def test_a_fresh_database_has_the_districts_the_2025_units_and_their_three_parents(session) -> None:
    rows = (await session.execute(text("SELECT area_set, count(*) FROM area GROUP BY 1"))).all()
    # 22 districts and the 2 former provinces (legacy), the 168 units of 2025, and the city (no set).
    assert dict(rows) == {"legacy": 24, "2025": 168, None: 1}
    assert await session.scalar(text("SELECT count(*) FROM area")) == 22 + 168 + 3


async def test_every_2025_unit_has_the_city_as_parent_and_a_legacy_home(session) -> None:
    rows = (
        await session.execute(
            text(
                "SELECT w.parent, d.area_set, d.level, count(*) FROM area w JOIN area d ON d.code = w.former_district"
                " WHERE w.area_set = '2025' GROUP BY 1, 2, 3"
            )
        )
    ).all()
    assert {(r[0], r[1], r[2]): r[3] for r in rows} == {
        ("HCM", "legacy", "district"): 102,
        ("HCM", "legacy", "province"): 66,
    }
    assert await session.scalar(text("SELECT count(*) FROM area WHERE area_set = 'legacy' AND parent = 'HCM'")) == 24
