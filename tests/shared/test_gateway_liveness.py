"""shared/gateway_liveness.py: a gateway's last report and its cameras' counts, for registry and health alike."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from shared.gateway_liveness import gateway_liveness
from shared.models import CameraHealth, GatewayState


async def _gateway(session, code: str) -> uuid.UUID:
    gateway_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO gateway (id, code, name, district) VALUES (:id, :c, :c, 'Q1')"), {"id": gateway_id, "c": code}
    )
    return gateway_id


async def _camera(session, code: str, gateway_id: uuid.UUID, lifecycle: str = "active") -> uuid.UUID:
    camera_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO camera (id, code, name, latitude, longitude, district, lifecycle, gateway_id)"
            " VALUES (:id, :c, :c, 10.77, 106.70, 'Q1', :l, :g)"
        ),
        {"id": camera_id, "c": code, "l": lifecycle, "g": gateway_id},
    )
    return camera_id


async def test_counts_served_cameras_and_those_health_holds_offline(session) -> None:
    heard = datetime(2026, 3, 1, tzinfo=UTC)
    busy, quiet = await _gateway(session, "NVR-1"), await _gateway(session, "NVR-2")
    watched = [await _camera(session, f"Q1-{i}", busy) for i in range(2)]
    await _camera(session, "Q1-M", busy, "maintenance")
    await _camera(session, "Q1-P", busy, "planned")
    await _camera(session, "Q1-D", busy, "decommissioned")
    session.add(CameraHealth(camera_id=watched[0], status="offline", reason="silent", since=heard))
    session.add(CameraHealth(camera_id=watched[1], status="online", reason="ok", since=heard))
    session.add(GatewayState(gateway_id=busy, received_at=heard, cameras_reported=4))
    await session.flush()
    found = await gateway_liveness(session, gateway_ids=[busy, quiet])
    assert (found[busy].last_seen_at, found[busy].cameras_reported) == (heard, 4)
    assert (found[busy].camera_count, found[busy].cameras_offline) == (3, 1)
    assert found[quiet].model_dump() == {
        "last_seen_at": None,
        "cameras_reported": 0,
        "camera_count": 0,
        "cameras_offline": 0,
    }


async def test_no_gateways_asks_nothing(session) -> None:
    assert await gateway_liveness(session, gateway_ids=[]) == {}
