"""The map query parameters every service parses the same way: bbox, and near with radius_m."""

import pytest

from shared.errors import ValidationFailed
from shared.geo import parse_bbox, parse_near
from tests.helpers import bearer


def test_a_bbox_is_read_longitude_first() -> None:
    assert parse_bbox("106.69,10.77,106.73,10.80") == (106.69, 10.77, 106.73, 10.80)


def test_no_bbox_is_no_filter() -> None:
    assert parse_bbox(None) is None


@pytest.mark.parametrize(
    ("raw", "msg"),
    [
        ("1,2,3", "expected 4 comma-separated finite numbers"),
        ("a,b,c,d", "expected 4 comma-separated finite numbers"),
        ("nan,10,106,11", "expected 4 comma-separated finite numbers"),
        ("0,0,200,10", "coordinates out of range"),
        ("106.8,10.7,106.7,10.8", "min must not exceed max"),
    ],
)
def test_a_bad_bbox_is_422_naming_the_parameter(raw, msg) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_bbox(raw)
    assert caught.value.errors == [{"loc": ["query", "bbox"], "msg": msg}]


def test_near_is_read_latitude_first() -> None:
    assert parse_near("10.7985,106.7240", 500.0) == (10.7985, 106.7240)


@pytest.mark.parametrize(
    ("near", "radius_m", "loc"),
    [("10.8,106.7", None, "radius_m"), (None, 100.0, "near"), ("10.8", 100.0, "near"), ("91,106", 100.0, "near")],
)
def test_a_bad_near_is_422_naming_the_parameter(near, radius_m, loc) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_near(near, radius_m)
    assert caught.value.errors[0]["loc"] == ["query", loc]


async def test_registry_and_health_refuse_a_bad_bbox_with_the_same_problem(registry, health, make_key) -> None:
    headers = bearer(await make_key("admin"))
    replies = [
        await registry.get("/v1/cameras", params={"bbox": "106.8,10.7,106.7,10.8"}, headers=headers),
        await health.get("/v1/health/map.geojson", params={"bbox": "106.8,10.7,106.7,10.8"}, headers=headers),
    ]
    assert [r.status_code for r in replies] == [422, 422]
    assert replies[0].json()["detail"] == replies[1].json()["detail"]
    assert replies[0].json()["errors"] == replies[1].json()["errors"]
