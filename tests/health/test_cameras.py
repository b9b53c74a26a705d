"""Cameras with their verdicts: worst first, filters, cursors, detail, the map and service discovery."""

import json

import pytest

from tests.helpers import PROBLEM_JSON, bearer


async def test_list_is_worst_first(health, make_key, city) -> None:
    r = await health.get("/v1/health/cameras", headers=bearer(await make_key("operator")))
    assert [c["status"] for c in r.json()["items"]] == ["offline", "degraded", "unknown", "online", "maintenance"]


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("status=offline", ["BTH-OFF"]),
        ("status=offline,degraded", ["BTH-OFF", "Q1-DEG"]),
        ("status=online&status=degraded", ["Q1-DEG", "Q1-ON"]),
        ("district=Q1", ["Q1-DEG", "Q1-ON"]),
        ("vendor=Dahua", ["BTH-OFF"]),
        ("tag=bridge", ["Q1-DEG", "Q1-ON"]),
        ("gateway=GW-1", ["Q1-ON"]),
        ("kind=ptz", []),
    ],
)
async def test_list_filters(health, make_key, city, query, codes) -> None:
    r = await health.get(f"/v1/health/cameras?{query}", headers=bearer(await make_key("monitor")))
    assert r.status_code == 200
    assert sorted(c["code"] for c in r.json()["items"]) == codes


async def test_list_pages_with_a_cursor_without_gaps(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    seen, cursor = [], None
    while True:
        url = "/v1/health/cameras?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = (await health.get(url, headers=headers)).json()
        seen += [c["code"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len(set(seen)) == 5


@pytest.mark.parametrize(
    "query",
    ["status=broken", "cursor=garbage", "limit=0", "limit=1001", "kind=tank", "incident_id=-1", "flapping=maybe"],
)
async def test_bad_list_queries_are_4xx_problems(health, make_key, city, query) -> None:
    r = await health.get(f"/v1/health/cameras?{query}", headers=bearer(await make_key("monitor")))
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"] == PROBLEM_JSON


async def test_detail_has_last_heartbeat_and_transitions(health, make_key, city) -> None:
    r = await health.get("/v1/health/cameras/Q1-DEG", headers=bearer(await make_key("field")))
    body = r.json()
    assert body["status"] == "degraded"
    assert body["last_heartbeat"]["fps"] == 1.0
    assert body["recent_transitions"][0]["to"] == "degraded"
    assert body["recent_transitions"][0]["from"] is None


async def test_detail_of_a_decommissioned_camera_is_404(health, make_key, city) -> None:
    r = await health.get("/v1/health/cameras/BTH-DEC", headers=bearer(await make_key("monitor")))
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON


async def test_detail_of_an_unknown_camera_is_404(health, make_key, city) -> None:
    r = await health.get("/v1/health/cameras/NOPE-1", headers=bearer(await make_key("monitor")))
    assert r.status_code == 404


async def test_geojson_is_rfc7946(health, make_key, city) -> None:
    r = await health.get("/v1/health/map.geojson", headers=bearer(await make_key("monitor")))
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = json.loads(r.text)
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 5
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (106.7009, 10.7769)  # [lon, lat], never [lat, lon]
        assert set(feature["properties"]) >= {"code", "status", "reason", "since"}


async def test_geojson_filters_and_bbox(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    only = (await health.get("/v1/health/map.geojson?status=offline", headers=headers)).json()["features"]
    assert [f["properties"]["code"] for f in only] == ["BTH-OFF"]
    empty = (await health.get("/v1/health/map.geojson?bbox=0,0,1,1", headers=headers)).json()
    assert empty == {"type": "FeatureCollection", "features": []}
    bad = await health.get("/v1/health/map.geojson?bbox=1,2,3", headers=headers)
    assert bad.status_code == 422


async def test_service_discovery_lists_targets_per_district_without_credentials(health, make_key, city) -> None:
    r = await health.get("/v1/health/sd", headers=bearer(await make_key("monitor")))
    groups = {g["labels"]["district"]: g["targets"] for g in r.json()}
    assert groups == {"BTH": ["cam.example:8554"], "Q1": ["10.1.2.3:554"]}


async def test_list_sorted_by_code_pages_in_code_order(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    first = (await health.get("/v1/health/cameras?sort=code&limit=3", headers=headers)).json()
    rest = (await health.get(f"/v1/health/cameras?sort=code&cursor={first['next_cursor']}", headers=headers)).json()
    codes = [c["code"] for c in first["items"] + rest["items"]]
    assert codes == sorted(codes) and len(codes) == 5
    assert rest["next_cursor"] is None


async def test_a_cursor_from_another_sort_is_400(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    first = (await health.get("/v1/health/cameras?limit=1", headers=headers)).json()
    r = await health.get(f"/v1/health/cameras?sort=code&cursor={first['next_cursor']}", headers=headers)
    assert r.status_code == 400
