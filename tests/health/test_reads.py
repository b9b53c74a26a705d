"""Health reads: one answer across summary, groups, list, detail, map and metrics; ETags; filters; bad input."""

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.health.conftest import add_camera, add_gateway, at, heartbeat
from tests.helpers import PROBLEM_JSON, bearer


@pytest.fixture
async def city(session, run_pass):
    """Six cameras, one of each situation, evaluated at T0+100 s."""
    cams = {}
    gw = await add_gateway(session, "GW-1")
    cams["online"] = await add_camera(session, "Q1-ON", district="Q1", gateway_id=gw, tags=["bridge"], ip="10.1.2.3")
    cams["degraded"] = await add_camera(session, "Q1-DEG", district="Q1", tags=["bridge"])
    cams["offline"] = await add_camera(
        session, "BTH-OFF", district="BTH", vendor="Dahua", stream_url="rtsp://cam.example:8554/live"
    )
    cams["unknown"] = await add_camera(session, "BTH-UNK", district="BTH")
    cams["maintenance"] = await add_camera(session, "BTH-MNT", district="BTH", lifecycle="maintenance")
    cams["decommissioned"] = await add_camera(session, "BTH-DEC", district="BTH", lifecycle="decommissioned")
    await heartbeat(session, cams["online"], at(99))
    await heartbeat(session, cams["degraded"], at(99), fps=1.0)
    await heartbeat(session, cams["offline"], at(0))
    await heartbeat(session, cams["decommissioned"], at(99))
    await run_pass(100)
    return cams


async def test_summary_counts_each_status_once(health, make_key, city) -> None:
    r = await health.get("/v1/health/summary", headers=bearer(await make_key("monitor")))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5
    assert body["by_status"] == {"online": 1, "degraded": 1, "offline": 1, "unknown": 1, "maintenance": 1}
    assert body["availability_pct"] == pytest.approx(66.667)
    assert body["as_of"].startswith("2026-03-01T12:01:40")
    assert body["stale"] is False


async def test_summary_groups_list_map_and_metrics_agree(health, make_key, city) -> None:
    headers = bearer(await make_key("admin"))
    summary = (await health.get("/v1/health/summary", headers=headers)).json()["by_status"]
    groups = (await health.get("/v1/health/groups?by=district", headers=headers)).json()["items"]
    listed = (await health.get("/v1/health/cameras", headers=headers)).json()["items"]
    features = (await health.get("/v1/health/map.geojson", headers=headers)).json()["features"]
    metrics = (await health.get("/metrics")).text
    from_groups = {s: sum(g["by_status"][s] for g in groups) for s in summary}
    from_list = {s: sum(1 for c in listed if c["status"] == s) for s in summary}
    from_map = {s: sum(1 for f in features if f["properties"]["status"] == s) for s in summary}
    from_metrics = dict.fromkeys(summary, 0)
    for family in text_string_to_metric_families(metrics):
        if family.name == "citycam_cameras":
            for sample in family.samples:
                from_metrics[sample.labels["status"]] += int(sample.value)
    assert summary == from_groups == from_list == from_map == from_metrics
    for c in listed:
        detail = (await health.get(f"/v1/health/cameras/{c['code']}", headers=headers)).json()
        assert (detail["status"], detail["reason"], detail["since"]) == (c["status"], c["reason"], c["since"])


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


async def test_groups_by_gateway_and_tag(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    by_gw = (await health.get("/v1/health/groups?by=gateway", headers=headers)).json()["items"]
    assert [(g["label"], g["total"]) for g in by_gw if g["key"]] == [("GW-1", 1)]
    by_tag = (await health.get("/v1/health/groups?by=tag", headers=headers)).json()["items"]
    assert [(g["key"], g["total"]) for g in by_tag] == [("bridge", 2)]


async def test_unknown_group_dimension_is_422(health, make_key, city) -> None:
    r = await health.get("/v1/health/groups?by=colour", headers=bearer(await make_key("monitor")))
    assert r.status_code == 422


async def test_summary_etag_gives_304_until_something_changes(health, make_key, city, session, run_pass) -> None:
    headers = bearer(await make_key("monitor"))
    first = await health.get("/v1/health/summary", headers=headers)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = await health.get("/v1/health/summary", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    await run_pass(101)  # nothing changed
    assert (await health.get("/v1/health/summary", headers={**headers, "If-None-Match": etag})).status_code == 304
    await heartbeat(session, city["offline"], at(101))
    await run_pass(101.5)
    changed = await health.get("/v1/health/summary", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["by_status"]["offline"] == 0


async def test_groups_etag_gives_304(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    first = await health.get("/v1/health/groups?by=district", headers=headers)
    again = await health.get(
        "/v1/health/groups?by=district", headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_groups_etag_stays_ascii_for_a_vietnamese_query(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    r = await health.get("/v1/health/groups", params={"by": "district", "district": "Bình Thạnh"}, headers=headers)
    assert r.status_code == 200
    assert r.headers["etag"].isascii()


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


async def test_metrics_have_bounded_labels(health, city) -> None:
    body = (await health.get("/metrics")).text
    samples = [s for f in text_string_to_metric_families(body) if f.name == "citycam_cameras" for s in f.samples]
    assert {tuple(sorted(s.labels)) for s in samples} == {("district", "status")}
    assert len(samples) == 2 * 5  # two districts x five statuses, never one series per camera


async def test_service_discovery_lists_targets_per_district_without_credentials(health, make_key, city) -> None:
    r = await health.get("/v1/health/sd", headers=bearer(await make_key("monitor")))
    groups = {g["labels"]["district"]: g["targets"] for g in r.json()}
    assert groups == {"BTH": ["cam.example:8554"], "Q1": ["10.1.2.3:554"]}


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("monitor", "/v1/health/summary", 200),
        ("field", "/v1/health/summary", 200),
        ("operator", "/v1/health/cameras", 200),
        ("monitor", "/v1/health/webhooks", 403),
        ("field", "/v1/health/webhooks", 403),
        ("operator", "/v1/health/webhooks", 200),
        ("admin", "/v1/health/webhooks", 200),
    ],
)
async def test_roles(health, make_key, role, path, expected) -> None:
    r = await health.get(path, headers=bearer(await make_key(role)))
    assert r.status_code == expected


async def test_no_key_is_401(health) -> None:
    r = await health.get("/v1/health/summary")
    assert r.status_code == 401


async def test_events_newest_first_and_since(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    events = (await health.get("/v1/health/events", headers=headers)).json()["items"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)
    assert set(events[0]) >= {"id", "camera_id", "code", "district", "from", "to", "reason", "at"}
    after = (await health.get(f"/v1/health/events?since={ids[2]}", headers=headers)).json()["items"]
    assert [e["id"] for e in after] == ids[:2]


@pytest.mark.parametrize("since", ["yesterday", "2026-01-01T00:00:00", "-1"])
async def test_bad_since_is_422(health, make_key, since) -> None:
    r = await health.get(f"/v1/health/events?since={since}", headers=bearer(await make_key("monitor")))
    assert r.status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        "district=%00",
        "owner=a%00b",
        "tag=" + "x" * 65,
        "district=" + "Q" * 40,
        "incident_id=99999999999999999999",
    ],
)
async def test_hostile_query_strings_are_4xx_never_500(health, make_key, query) -> None:
    r = await health.get(f"/v1/health/cameras?{query}", headers=bearer(await make_key("monitor")))
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    "path",
    [
        "/v1/health/cameras/%00",
        "/v1/health/incidents/0",
        "/v1/health/incidents/abc",
        "/v1/health/webhooks/not-a-uuid",
        "/v1/health/events?cursor=%%%",
        "/v1/health/availability?by=colour",
        "/v1/health/availability?end=yesterday",
    ],
)
async def test_bad_paths_and_params_are_4xx_problems(health, make_key, path) -> None:
    r = await health.get(path, headers=bearer(await make_key("admin")))
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == PROBLEM_JSON


async def test_stream_rejects_a_garbage_last_event_id(health, make_key) -> None:
    r = await health.get("/v1/health/stream", headers={**bearer(await make_key("monitor")), "Last-Event-ID": "abc"})
    assert r.status_code == 422


async def test_openapi_documents_the_health_api(health) -> None:
    r = await health.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/v1/health/summary",
        "/v1/health/groups",
        "/v1/health/cameras",
        "/v1/health/cameras/{camera}",
        "/v1/health/availability",
        "/v1/health/events",
        "/v1/health/stream",
        "/v1/health/incidents",
        "/v1/health/webhooks",
        "/v1/health/map.geojson",
        "/v1/health/sd",
    ):
        assert path in paths


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


async def test_cameras_registered_by_2025_ward_alone_group_by_ward_and_by_district(
    registry, health, make_key, run_pass
) -> None:
    # Registered through the registry, so the district comes from the crosswalk, not the test.
    admin = bearer(await make_key("admin"))
    base = {"name": "n", "latitude": 10.77, "longitude": 106.7}
    for code, ward in (("A-1", "26740"), ("A-2", "26740"), ("A-3", "26905")):
        r = await registry.post("/v1/cameras", json={**base, "code": code, "ward": ward}, headers=admin)
        assert r.status_code == 201, r.text
    await run_pass(100)
    monitor = bearer(await make_key("monitor"))
    by_ward = (await health.get("/v1/health/groups?by=ward", headers=monitor)).json()["items"]
    by_district = (await health.get("/v1/health/groups?by=district", headers=monitor)).json()["items"]
    assert {g["key"]: g["total"] for g in by_ward} == {"26740": 2, "26905": 1}
    assert {g["key"]: g["total"] for g in by_district} == {"Q1": 2, "BTH": 1}
