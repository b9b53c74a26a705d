"""The health API as a whole: roles, no key, hostile queries and paths are 4xx problems, the OpenAPI document."""

import pytest

from tests.helpers import PROBLEM_JSON, bearer


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
