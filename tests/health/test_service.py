"""Aggregates: one answer across summary, groups, list, map and metrics; ETags and 304s; groups by
gateway, tag and ward."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.health.conftest import at, heartbeat
from tests.helpers import bearer


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


async def test_metrics_have_bounded_labels(health, city) -> None:
    body = (await health.get("/metrics")).text
    samples = [s for f in text_string_to_metric_families(body) if f.name == "citycam_cameras" for s in f.samples]
    assert {tuple(sorted(s.labels)) for s in samples} == {("district", "status")}
    assert len(samples) == 2 * 5  # two districts x five statuses, never one series per camera


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
