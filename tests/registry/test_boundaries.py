"""Boundaries (boundaries.py, areas.py): a missing ward filled from the point, a point outside its declared
ward flagged, and the outlines for a map. The outlines are generated boxes: citycam ships none."""

import json

import pytest

from citycam.cli.boundaries import parse_boundaries, store_boundaries
from tests.helpers import BINH_LOI_TRUNG_BOX, SAIGON_BOX, camera
from tests.registry.files import post_import

IN_SAIGON = {"latitude": 10.78, "longitude": 106.70}
IN_BINH_LOI_TRUNG = {"latitude": 10.81, "longitude": 106.715}


@pytest.fixture
async def outlines(session) -> None:
    """The two boxes, stored as `citycam areas boundaries` stores them."""
    text = json.dumps({"type": "FeatureCollection", "features": [SAIGON_BOX, BINH_LOI_TRUNG_BOX]})
    parsed, errors = parse_boundaries(text)
    assert errors == []
    assert await store_boundaries(session, parsed, area_set="2025", source="generated", replace=False) == []
    await session.commit()


def _without_location(**overrides):
    return {k: v for k, v in camera(**overrides).items() if k not in ("district", "ward")}


async def test_registration_fills_the_ward_and_its_district_from_the_point(registry, admin, outlines) -> None:
    r = await registry.post("/v1/cameras", json=_without_location(**IN_BINH_LOI_TRUNG), headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["ward"], r.json()["district"], r.json()["warnings"]) == ("26905", "BTH", [])


async def test_a_point_outside_every_outline_without_a_district_is_422(registry, admin, outlines) -> None:
    r = await registry.post("/v1/cameras", json=_without_location(latitude=10.5, longitude=106.9), headers=admin)
    assert r.status_code == 422
    assert "no loaded ward boundary" in r.json()["errors"][0]["msg"]


async def test_a_point_outside_its_declared_ward_is_written_and_flagged(registry, admin, outlines) -> None:
    r = await registry.post("/v1/cameras", json=camera(district="Q1", ward="26740", **IN_BINH_LOI_TRUNG), headers=admin)
    assert r.status_code == 201
    assert r.json()["ward"] == "26740"
    assert [(w["kind"], w["loc"]) for w in r.json()["warnings"]] == [("outside_area", ["ward"])]


async def test_a_patch_that_moves_a_camera_out_of_its_ward_is_flagged(registry, admin, outlines) -> None:
    await registry.post("/v1/cameras", json=_without_location(**IN_SAIGON), headers=admin)
    r = await registry.patch("/v1/cameras/BTH-0001", json=IN_BINH_LOI_TRUNG, headers=admin)
    assert r.status_code == 200
    assert r.json()["ward"] == "26740"
    assert [w["kind"] for w in r.json()["warnings"]] == ["outside_area"]


async def test_an_import_fills_wards_from_coordinates_and_flags_rows_outside(registry, admin, outlines) -> None:
    body = (
        "code,name,latitude,longitude,ward\n"
        f"P-1,a,{IN_SAIGON['latitude']},{IN_SAIGON['longitude']},\n"
        f"P-2,b,{IN_SAIGON['latitude']},{IN_SAIGON['longitude']},26905\n"
    )
    result = (await post_import(registry, admin, body)).json()
    assert (result["created"], result["rejected"]) == (2, [])
    assert [(f["line"], f["code"], f["warnings"][0]["kind"]) for f in result["flagged"]] == [(3, "P-2", "outside_area")]
    cam = (await registry.get("/v1/cameras/P-1", headers=admin)).json()
    assert (cam["ward"], cam["district"]) == ("26740", "Q1")


async def test_the_outlines_come_as_geojson_by_set(registry, admin, outlines) -> None:
    r = await registry.get("/v1/areas/boundaries", params={"set": "2025"}, headers=admin)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert [f["id"] for f in features] == ["26740", "26905"]
    assert features[0]["properties"]["name"] == "Phường Sài Gòn"
    assert features[0]["properties"]["former_district"] == "Q1"
    assert features[0]["geometry"]["type"] == "Polygon"
    legacy = await registry.get("/v1/areas/boundaries", params={"set": "legacy"}, headers=admin)
    assert legacy.json() == {"type": "FeatureCollection", "features": []}


async def test_without_outlines_nothing_is_filled_or_flagged(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(district="Q1", ward="26740", **IN_BINH_LOI_TRUNG), headers=admin)
    assert r.json()["warnings"] == []
    assert (await registry.get("/v1/areas/boundaries", headers=admin)).json()["features"] == []
