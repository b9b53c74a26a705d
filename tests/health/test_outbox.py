"""The outbox: which deliveries a pass queues (filters; an incident instead of its transitions)."""

import uuid

from sqlalchemy import text

from services.health.evaluator import one_pass
from services.health.settings import HealthSettings
from tests.health.hooks import camera_goes_offline, subscribe


async def test_filters_keep_other_districts_out(world) -> None:
    _engine, sessionmaker, _receiver, url = world
    s = HealthSettings(webhook_allow_private=True)
    await subscribe(sessionmaker, url, districts=["BTH"])
    await camera_goes_offline(sessionmaker, s)
    async with sessionmaker() as session:
        assert (await session.execute(text("SELECT count(*) FROM webhook_delivery"))).scalar_one() == 0


async def test_a_gateway_outage_is_one_incident_delivery_not_n_transitions(world) -> None:
    _engine, sessionmaker, _receiver, url = world
    s = HealthSettings(webhook_allow_private=True, incident_min_cameras=3)
    await subscribe(sessionmaker, url)
    async with sessionmaker() as session:
        gateway = uuid.uuid4()
        await session.execute(
            text("INSERT INTO gateway (id, code, name, district) VALUES (:id, 'NVR-1', 'NVR-1', 'Q1')"),
            {"id": gateway},
        )
        for i in range(4):
            camera_id = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s,"
                    " gateway_id) VALUES (:id, :code, 'c', 10.78, 106.7, 'Q1', 5, :gw)"
                ),
                {"id": camera_id, "code": f"Q1-GW{i}", "gw": gateway},
            )
            await session.execute(
                text("INSERT INTO camera_state (camera_id, received_at) VALUES (:id, clock_timestamp())"),
                {"id": camera_id},
            )
        await one_pass(session, settings=s)
        await session.commit()
        await session.execute(text("UPDATE camera_state SET received_at = received_at - interval '20 seconds'"))
        await one_pass(session, settings=s)
        await session.commit()
        events = list((await session.execute(text("SELECT event FROM webhook_delivery"))).scalars())
    assert events == ["incident.opened"]
