"""Areas (areas.py): the sets and levels, a device's district and ward (the crosswalk), the area list."""

from sqlalchemy import text

from tests.helpers import bearer, camera


async def test_ward_must_exist_and_be_in_the_district(registry, admin, session) -> None:
    await session.execute(
        text("INSERT INTO area (code, name, level, parent) VALUES ('BTH-P1', 'Phường 1', 'ward', 'BTH')")
    )
    await session.commit()
    assert (await registry.post("/v1/cameras", json=camera(ward="BTH-P1"), headers=admin)).status_code == 201
    r = await registry.post("/v1/cameras", json=camera(code="Q1-1", district="Q1", ward="BTH-P1"), headers=admin)
    assert r.status_code == 422
    r = await registry.post("/v1/cameras", json=camera(code="Q1-2", district="Q1", ward="NOWARD"), headers=admin)
    assert r.status_code == 422
    r = await registry.post("/v1/cameras", json=camera(code="Q1-3", district="Q1", ward="Q3"), headers=admin)
    assert r.status_code == 422


async def test_district_must_be_a_district(registry, admin, session) -> None:
    await session.execute(
        text("INSERT INTO area (code, name, level, parent) VALUES ('BTH-P1', 'Phường 1', 'ward', 'BTH')")
    )
    await session.commit()
    r = await registry.post("/v1/cameras", json=camera(district="BTH-P1"), headers=admin)
    assert r.status_code == 422


async def test_areas_page_in_code_order(registry, admin) -> None:
    first = (await registry.get("/v1/areas", params={"level": "district", "limit": "2"}, headers=admin)).json()
    second = (
        await registry.get(
            "/v1/areas", params={"level": "district", "limit": "2", "cursor": first["next_cursor"]}, headers=admin
        )
    ).json()
    codes = [a["code"] for a in first["items"] + second["items"]]
    assert codes == sorted(codes) and len(set(codes)) == 4


async def test_an_area_cursor_whose_code_is_not_text_is_400(registry, admin) -> None:
    # {"code": 1}: the cursor of every code-ordered list is read by one parser (pages.code_after).
    r = await registry.get("/v1/areas", params={"cursor": "eyJjb2RlIjoxfQ"}, headers=admin)
    assert r.status_code == 400


async def _all_areas(registry, admin, **params) -> list[dict]:
    r = await registry.get("/v1/areas", params={"limit": "1000", **params}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_areas_filter_by_set_and_level(registry, admin) -> None:
    assert len(await _all_areas(registry, admin)) == 22 + 168 + 3
    assert len(await _all_areas(registry, admin, set="2025")) == 168
    legacy = await _all_areas(registry, admin, set="legacy")
    assert {a["level"] for a in legacy} == {"district", "province"} and len(legacy) == 24
    assert len(await _all_areas(registry, admin, set="2025", level="commune")) == 54
    assert [a["code"] for a in await _all_areas(registry, admin, level="special_zone")] == ["26732"]


async def test_an_area_reads_with_its_set_and_legacy_district(registry, admin) -> None:
    saigon = [a for a in await _all_areas(registry, admin, set="2025", level="ward") if a["code"] == "26740"]
    assert saigon == [
        {
            "code": "26740",
            "name": "Phường Sài Gòn",
            "level": "ward",
            "parent": "HCM",
            "set": "2025",
            "former_district": "Q1",
            "centroid_lat": None,
            "centroid_lon": None,
        }
    ]


async def test_a_ward_alone_implies_its_legacy_district(registry, admin) -> None:
    body = {k: v for k, v in camera(ward="26740").items() if k != "district"}
    r = await registry.post("/v1/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["district"], r.json()["ward"], r.json()["warnings"]) == ("Q1", "26740", [])


async def test_neither_district_nor_ward_is_422(registry, admin) -> None:
    body = {k: v for k, v in camera().items() if k != "district"}
    r = await registry.post("/v1/cameras", json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["district"]


async def test_patching_the_ward_alone_moves_the_district(registry, admin, create) -> None:
    await create(district="Q1", ward="26740")
    r = await registry.patch("/v1/cameras/BTH-0001", json={"ward": "26905"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["district"], r.json()["ward"]) == ("BTH", "26905")


async def test_a_district_other_than_the_wards_is_kept_and_flagged(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(district="Q3", ward="26740"), headers=admin)
    assert r.status_code == 201
    assert r.json()["district"] == "Q3"
    assert [w["kind"] for w in r.json()["warnings"]] == ["district_differs"]


async def test_a_ward_must_be_a_ward_level_area(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(ward="BDU"), headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["ward"]


async def test_a_key_scoped_to_a_district_may_add_cameras_in_its_wards_only(registry, make_key) -> None:
    field = bearer(await make_key("field", ["BTH"]))
    ward_only = {k: v for k, v in camera().items() if k != "district"}
    assert (await registry.post("/v1/cameras", json={**ward_only, "ward": "26905"}, headers=field)).status_code == 201
    r = await registry.post("/v1/cameras", json={**ward_only, "code": "Q1-9", "ward": "26740"}, headers=field)
    assert r.status_code == 403


async def test_a_gateway_patched_to_a_ward_alone_follows_its_district(registry, admin) -> None:
    r = await registry.post("/v1/gateways", json={"code": "NVR-1", "name": "n", "district": "Q1"}, headers=admin)
    assert r.status_code == 201
    r = await registry.patch("/v1/gateways/NVR-1", json={"ward": "26905"}, headers=admin)
    assert (r.json()["district"], r.json()["ward"]) == ("BTH", "26905")
