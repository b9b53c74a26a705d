"""Gateways (NVRs): CRUD, their own device tokens (rotate, revoke), audit."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from shared.models import CameraHealth, DeviceCredential, GatewayState
from tests.helpers import bearer

GATEWAY = {"code": "GW-BTH-1", "name": "NVR Bình Thạnh 1", "district": "BTH", "ip": "10.20.0.1"}


async def _create(registry, headers, **overrides):
    r = await registry.post("/v1/gateways", json={**GATEWAY, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return r


async def test_create_returns_201_location_etag_and_a_token_once(registry, admin) -> None:
    r = await _create(registry, admin)
    body = r.json()
    assert r.headers["location"] == f"/v1/gateways/{body['id']}"
    assert body["device_token"].startswith("cct_")
    again = (await registry.get(f"/v1/gateways/{body['code']}", headers=admin)).json()
    assert "device_token" not in again
    assert again["ip"] == "10.20.0.1"


async def test_duplicate_code_is_409(registry, admin) -> None:
    await _create(registry, admin)
    r = await registry.post("/v1/gateways", json=GATEWAY, headers=admin)
    assert r.status_code == 409


async def test_unknown_district_is_422(registry, admin) -> None:
    r = await registry.post("/v1/gateways", json={**GATEWAY, "district": "NOPE"}, headers=admin)
    assert r.status_code == 422


async def test_list_filters_and_pages(registry, admin) -> None:
    for i in range(3):
        await _create(registry, admin, code=f"GW-BTH-{i}")
    await _create(registry, admin, code="GW-Q1-1", district="Q1")
    first = (await registry.get("/v1/gateways?district=BTH&limit=2", headers=admin)).json()
    second = (
        await registry.get(f"/v1/gateways?district=BTH&limit=2&cursor={first['next_cursor']}", headers=admin)
    ).json()
    assert [g["code"] for g in first["items"] + second["items"]] == ["GW-BTH-0", "GW-BTH-1", "GW-BTH-2"]
    assert second["next_cursor"] is None


async def test_patch_with_if_match_and_stale_412(registry, admin) -> None:
    created = (await _create(registry, admin)).json()
    etag = (await registry.get(f"/v1/gateways/{created['id']}", headers=admin)).headers["etag"]
    r = await registry.patch(
        f"/v1/gateways/{created['id']}", json={"name": "NVR 2"}, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 200
    assert r.json()["version"] == 2
    r = await registry.patch(
        f"/v1/gateways/{created['id']}", json={"name": "NVR 3"}, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 412
    assert (await registry.get(f"/v1/gateways/{created['id']}", headers=admin)).json()["name"] == "NVR 2"


async def test_changes_are_audited(registry, admin) -> None:
    created = (await _create(registry, admin)).json()
    await registry.patch(f"/v1/gateways/{created['code']}", json={"heartbeat_interval_s": 60}, headers=admin)
    items = (await registry.get(f"/v1/gateways/{created['code']}/changes", headers=admin)).json()["items"]
    assert [i["action"] for i in items] == ["update", "create"]
    assert items[0]["changes"] == {"heartbeat_interval_s": {"from": 30, "to": 60}}
    assert items[0]["unconditional"] is True


async def test_rotate_replaces_the_token(registry, admin, session) -> None:
    created = (await _create(registry, admin)).json()
    r = await registry.post(f"/v1/gateways/{created['code']}/rotate-token", headers=admin)
    assert r.status_code == 200
    new = r.json()["device_token"]
    live = (
        await session.execute(
            select(DeviceCredential.prefix).where(
                DeviceCredential.gateway_id == created["id"], DeviceCredential.revoked_at.is_(None)
            )
        )
    ).all()
    assert live == [(new[:12],)]


async def test_revoke_leaves_no_live_token(registry, admin, session) -> None:
    created = (await _create(registry, admin)).json()
    r = await registry.post(f"/v1/gateways/{created['code']}/revoke-token", headers=admin)
    assert r.status_code == 204
    live = await session.scalar(
        select(DeviceCredential.id).where(
            DeviceCredential.gateway_id == created["id"], DeviceCredential.revoked_at.is_(None)
        )
    )
    assert live is None


async def test_delete_decommissions_revokes_and_refuses_new_cameras(registry, admin, session) -> None:
    created = (await _create(registry, admin)).json()
    assert (await registry.delete(f"/v1/gateways/{created['code']}", headers=admin)).status_code == 204
    kept = (await registry.get(f"/v1/gateways/{created['code']}", headers=admin)).json()
    assert kept["lifecycle"] == "decommissioned"
    live = await session.scalar(
        select(DeviceCredential.id).where(
            DeviceCredential.gateway_id == created["id"], DeviceCredential.revoked_at.is_(None)
        )
    )
    assert live is None
    from tests.helpers import camera

    r = await registry.post("/v1/cameras", json=camera(gateway_id=created["id"]), headers=admin)
    assert r.status_code == 422
    r = await registry.post(f"/v1/gateways/{created['code']}/rotate-token", headers=admin)
    assert r.status_code == 409


async def test_unknown_gateway_is_404(registry, admin) -> None:
    for method, path in (
        ("GET", "/v1/gateways/NOPE"),
        ("PATCH", "/v1/gateways/NOPE"),
        ("DELETE", "/v1/gateways/NOPE"),
        ("POST", "/v1/gateways/NOPE/rotate-token"),
        ("GET", "/v1/gateways/NOPE/changes"),
    ):
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        r = await registry.request(method, path, headers=admin, **kwargs)
        assert r.status_code == 404, (method, path)


async def test_scoped_field_key_manages_only_its_districts_gateways(registry, admin, make_key) -> None:
    await _create(registry, admin, code="GW-Q1", district="Q1")
    key = bearer(await make_key("field", ["BTH"]))
    assert (await registry.post("/v1/gateways", json=GATEWAY, headers=key)).status_code == 201
    assert (
        await registry.post("/v1/gateways", json={**GATEWAY, "code": "X", "district": "Q1"}, headers=key)
    ).status_code == 403
    assert (await registry.patch("/v1/gateways/GW-Q1", json={"name": "x"}, headers=key)).status_code == 403
    assert (await registry.delete("/v1/gateways/GW-Q1", headers=key)).status_code == 403
    assert (await registry.post("/v1/gateways/GW-Q1/rotate-token", headers=key)).status_code == 403
    assert (await registry.patch("/v1/gateways/GW-BTH-1", json={"district": "Q1"}, headers=key)).status_code == 403


async def test_operator_may_read_but_not_change_gateways(registry, admin, make_key) -> None:
    await _create(registry, admin)
    key = bearer(await make_key("operator"))
    assert (await registry.get("/v1/gateways", headers=key)).status_code == 200
    assert (await registry.patch("/v1/gateways/GW-BTH-1", json={"name": "x"}, headers=key)).status_code == 403
    assert (await registry.post("/v1/gateways", json={**GATEWAY, "code": "GW-2"}, headers=key)).status_code == 403


async def test_reads_show_the_gateways_liveness(registry, admin, create, session) -> None:
    gateway = (await _create(registry, admin)).json()
    assert gateway["liveness"] == {"last_seen_at": None, "cameras_reported": 0, "camera_count": 0, "cameras_offline": 0}
    behind = [await create(code=f"BTH-{i}", gateway_id=gateway["id"]) for i in range(3)]
    await create(code="BTH-9", gateway_id=gateway["id"], lifecycle="decommissioned")
    heard = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    session.add(GatewayState(gateway_id=uuid.UUID(gateway["id"]), received_at=heard, cameras_reported=2))
    session.add(CameraHealth(camera_id=uuid.UUID(behind[0]["id"]), status="offline", reason="silent", since=heard))
    await session.commit()
    expected = {"last_seen_at": "2026-03-01T12:00:00Z", "cameras_reported": 2, "camera_count": 3, "cameras_offline": 1}
    assert (await registry.get("/v1/gateways/GW-BTH-1", headers=admin)).json()["liveness"] == expected
    assert (await registry.get("/v1/gateways", headers=admin)).json()["items"][0]["liveness"] == expected
