"""GET /v1/health/gateways (gateways.py): each gateway's status, last seen, camera counts and open incident."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.health.conftest import add_camera, add_gateway, at, heartbeat
from tests.helpers import bearer


async def _reports(session, gateway_id: uuid.UUID, when: datetime, cameras: int = 0) -> None:
    await session.execute(
        text("INSERT INTO gateway_state (gateway_id, received_at, cameras_reported) VALUES (:id, :at, :n)"),
        {"id": gateway_id, "at": when, "n": cameras},
    )


async def _set(session, gateway_id: uuid.UUID, **values) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    await session.execute(text(f"UPDATE gateway SET {assignments} WHERE id = :id"), {"id": gateway_id, **values})


async def _get(health, make_key, path: str):
    return await health.get(path, headers=bearer(await make_key("monitor")))


async def test_a_gateway_heard_just_now_is_online_with_its_last_report(health, make_key, session) -> None:
    gw = await add_gateway(session, "NVR-1")
    heard = datetime.now(UTC).replace(microsecond=0)
    await _reports(session, gw, heard, cameras=3)
    await session.commit()
    body = (await _get(health, make_key, "/v1/health/gateways/NVR-1")).json()
    assert body["status"] == "online" and body["offline_after_s"] == 90.0
    assert body["liveness"]["last_seen_at"] == heard.isoformat().replace("+00:00", "Z")
    assert body["liveness"]["cameras_reported"] == 3 and body["incident_id"] is None


async def test_a_gateway_silent_past_its_threshold_is_offline(health, make_key, session) -> None:
    gw = await add_gateway(session, "NVR-1")
    await _reports(session, gw, datetime.now(UTC) - timedelta(seconds=91))
    await session.commit()
    assert (await _get(health, make_key, f"/v1/health/gateways/{gw}")).json()["status"] == "offline"


async def test_a_gateway_never_heard_is_unknown_and_one_in_maintenance_says_so(health, make_key, session) -> None:
    await add_gateway(session, "NVR-1")
    quiet = await add_gateway(session, "NVR-2")
    await _set(session, quiet, lifecycle="maintenance")
    await session.commit()
    items = (await _get(health, make_key, "/v1/health/gateways")).json()["items"]
    assert [(g["code"], g["status"], g["liveness"]["last_seen_at"]) for g in items] == [
        ("NVR-1", "unknown", None),
        ("NVR-2", "maintenance", None),
    ]


async def test_a_dark_gateway_and_its_dark_cameras_show_as_one_incident(health, make_key, session, run_pass) -> None:
    gw = await add_gateway(session, "NVR-7")
    cams = [await add_camera(session, f"Q1-{i}", interval=5, gateway_id=gw) for i in range(5)]
    await add_camera(session, "Q1-OLD", gateway_id=gw, lifecycle="decommissioned")
    for cam in cams:
        await heartbeat(session, cam, at(0))
    await _reports(session, gw, at(0), cameras=5)
    await run_pass(1)
    await run_pass(16)
    body = (await _get(health, make_key, "/v1/health/gateways/NVR-7")).json()
    (incident,) = (await _get(health, make_key, "/v1/health/incidents")).json()["items"]
    assert body["status"] == "offline" and body["incident_id"] == incident["id"]
    assert (body["liveness"]["camera_count"], body["liveness"]["cameras_offline"]) == (5, 5)


async def test_the_list_filters_by_district_pages_and_leaves_out_the_unwatched(health, make_key, session) -> None:
    for code in ("NVR-A", "NVR-B", "NVR-C"):
        await add_gateway(session, code)
    await add_gateway(session, "NVR-BTH", district="BTH")
    await _set(session, await add_gateway(session, "NVR-GONE"), lifecycle="decommissioned")
    await _set(session, await add_gateway(session, "NVR-SOON"), lifecycle="planned")
    await session.commit()
    first = (await _get(health, make_key, "/v1/health/gateways?district=Q1&limit=2")).json()
    second = (await _get(health, make_key, f"/v1/health/gateways?district=Q1&cursor={first['next_cursor']}")).json()
    assert [g["code"] for g in first["items"] + second["items"]] == ["NVR-A", "NVR-B", "NVR-C"]
    assert second["next_cursor"] is None


async def test_one_gateway_is_404_when_missing_or_left_out(health, make_key, session) -> None:
    await _set(session, await add_gateway(session, "NVR-GONE"), lifecycle="decommissioned")
    await session.commit()
    assert (await _get(health, make_key, "/v1/health/gateways/NVR-GONE")).status_code == 404
    assert (await _get(health, make_key, f"/v1/health/gateways/{uuid.uuid4()}")).status_code == 404


async def test_gateway_health_needs_a_key_and_a_valid_cursor(health, make_key) -> None:
    assert (await health.get("/v1/health/gateways")).status_code == 401
    assert (await _get(health, make_key, "/v1/health/gateways?cursor=nope")).status_code == 400
