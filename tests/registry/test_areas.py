"""Areas (areas.py): a device's district and ward must exist and fit together; the area list."""

from sqlalchemy import text

from tests.helpers import camera


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
