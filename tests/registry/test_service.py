"""Cameras (service.py): read, PATCH with If-Match, decommission, gateway references."""

from sqlalchemy import select

from shared.models import DeviceCredential
from tests.helpers import PROBLEM_JSON, camera


async def _get(registry, ref, headers):
    r = await registry.get(f"/v1/cameras/{ref}", headers=headers)
    assert r.status_code == 200, r.text
    return r


async def test_get_by_id_and_by_code_are_the_same_camera(registry, create, admin) -> None:
    made = await create()
    by_id = (await _get(registry, made["id"], admin)).json()
    by_code = (await _get(registry, made["code"], admin)).json()
    assert by_id == by_code


async def test_get_unknown_camera_is_404_problem(registry, admin) -> None:
    r = await registry.get("/v1/cameras/NOPE-1", headers=admin)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON


async def test_patch_changes_only_the_given_fields_and_bumps_version(registry, create, admin) -> None:
    made = await create()
    etag = (await _get(registry, made["code"], admin)).headers["etag"]
    r = await registry.patch(
        f"/v1/cameras/{made['code']}", json={"name": "Ngã tư Hàng Xanh"}, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Ngã tư Hàng Xanh"
    assert body["road"] == made["road"]
    assert body["version"] == made["version"] + 1
    assert r.headers["etag"] != etag


async def test_patch_with_stale_etag_is_412_and_changes_nothing(registry, create, admin) -> None:
    made = await create()
    etag = (await _get(registry, made["code"], admin)).headers["etag"]
    await registry.patch(f"/v1/cameras/{made['code']}", json={"name": "first"}, headers={**admin, "If-Match": etag})
    r = await registry.patch(
        f"/v1/cameras/{made['code']}", json={"name": "second"}, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 412
    assert r.headers["content-type"] == PROBLEM_JSON
    after = (await _get(registry, made["code"], admin)).json()
    assert after["name"] == "first"
    assert after["version"] == made["version"] + 1


async def test_patch_with_the_current_etag_made_weak_is_412_and_changes_nothing(registry, create, admin) -> None:
    # If-Match compares strongly (RFC 9110 13.1.1): W/ + the current tag never matches.
    made = await create(name="kept")
    etag = (await _get(registry, made["code"], admin)).headers["etag"]
    for header in (f"W/{etag}", f'"other", W/{etag}'):
        r = await registry.patch(
            f"/v1/cameras/{made['code']}", json={"name": "changed"}, headers={**admin, "If-Match": header}
        )
        assert r.status_code == 412
    r = await registry.delete(f"/v1/cameras/{made['code']}", headers={**admin, "If-Match": f"W/{etag}"})
    assert r.status_code == 412
    after = (await _get(registry, made["code"], admin)).json()
    assert (after["name"], after["version"], after["lifecycle"]) == ("kept", made["version"], made["lifecycle"])


async def test_patch_with_star_if_match_applies(registry, create, admin) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"name": "x"}, headers={**admin, "If-Match": "*"})
    assert r.status_code == 200


async def test_patch_without_if_match_applies_and_is_recorded_as_unconditional(registry, create, admin) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"name": "no etag"}, headers=admin)
    assert r.status_code == 200
    changes = (await registry.get(f"/v1/cameras/{made['code']}/changes", headers=admin)).json()["items"]
    assert changes[0]["action"] == "update"
    assert changes[0]["unconditional"] is True


async def test_patch_that_changes_nothing_keeps_the_version(registry, create, admin) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"name": made["name"]}, headers=admin)
    assert r.json()["version"] == made["version"]


async def test_patch_null_clears_an_optional_field(registry, create, admin) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"road": None}, headers=admin)
    assert r.json()["road"] is None


async def test_patch_null_on_a_required_field_is_422(registry, create, admin) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"name": None}, headers=admin)
    assert r.status_code == 422


async def test_patch_to_a_taken_code_is_409(registry, create, admin) -> None:
    await create(code="BTH-0001")
    second = await create(code="BTH-0002")
    r = await registry.patch(f"/v1/cameras/{second['id']}", json={"code": "BTH-0001"}, headers=admin)
    assert r.status_code == 409


async def test_delete_decommissions_and_keeps_the_camera(registry, create, admin) -> None:
    made = await create()
    r = await registry.delete(f"/v1/cameras/{made['code']}", headers=admin)
    assert r.status_code == 204
    kept = (await _get(registry, made["code"], admin)).json()
    assert kept["lifecycle"] == "decommissioned"
    assert kept["version"] == made["version"] + 1


async def test_delete_revokes_the_device_token(registry, create, admin, session) -> None:
    made = await create()
    await registry.delete(f"/v1/cameras/{made['code']}", headers=admin)
    live = await session.scalar(
        select(DeviceCredential).where(DeviceCredential.camera_id == made["id"], DeviceCredential.revoked_at.is_(None))
    )
    assert live is None


async def test_delete_twice_is_still_204(registry, create, admin) -> None:
    made = await create()
    await registry.delete(f"/v1/cameras/{made['code']}", headers=admin)
    r = await registry.delete(f"/v1/cameras/{made['code']}", headers=admin)
    assert r.status_code == 204


async def test_delete_with_stale_if_match_is_412(registry, create, admin) -> None:
    made = await create()
    r = await registry.delete(f"/v1/cameras/{made['code']}", headers={**admin, "If-Match": '"stale-1"'})
    assert r.status_code == 412


async def test_a_decommissioned_camera_cannot_come_back(registry, create, admin) -> None:
    made = await create()
    await registry.delete(f"/v1/cameras/{made['code']}", headers=admin)
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"lifecycle": "active"}, headers=admin)
    assert r.status_code == 409


async def test_patch_lifecycle_to_decommissioned_also_revokes_the_token(registry, create, admin, session) -> None:
    made = await create()
    await registry.patch(f"/v1/cameras/{made['code']}", json={"lifecycle": "decommissioned"}, headers=admin)
    live = await session.scalar(
        select(DeviceCredential.id).where(
            DeviceCredential.camera_id == made["id"], DeviceCredential.revoked_at.is_(None)
        )
    )
    assert live is None


async def test_camera_may_reference_a_gateway(registry, admin) -> None:
    gw = (
        await registry.post("/v1/gateways", json={"code": "GW-1", "name": "NVR", "district": "BTH"}, headers=admin)
    ).json()
    r = await registry.post("/v1/cameras", json=camera(gateway_id=gw["id"]), headers=admin)
    assert r.status_code == 201
    assert r.json()["gateway_id"] == gw["id"]
    listed = (await registry.get(f"/v1/cameras?gateway_id={gw['id']}", headers=admin)).json()["items"]
    assert [c["code"] for c in listed] == ["BTH-0001"]


async def test_camera_with_unknown_gateway_is_422(registry, admin) -> None:
    r = await registry.post(
        "/v1/cameras", json=camera(gateway_id="00000000-0000-0000-0000-000000000001"), headers=admin
    )
    assert r.status_code == 422
