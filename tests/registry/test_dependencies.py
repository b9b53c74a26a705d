"""The list and export query parameters (dependencies.py): a bad one is a 422 problem, a hostile one never a 500."""

import pytest


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "106.8,10.7,106.7,10.8"},
        {"bbox": "nan,10,106,11"},
        {"bbox": "0,0,200,10"},
        {"near": "10.8,106.7"},
        {"radius_m": "100"},
        {"near": "10.8", "radius_m": "100"},
        {"near": "91,106", "radius_m": "100"},
        {"near": "10.8,106.7", "radius_m": "-1"},
        {"near": "10.8,106.7", "radius_m": "1e9"},
        {"near": "10.8,106.7", "radius_m": "inf"},
        {"lifecycle": "retired"},
        {"kind": "thermal"},
        {"gateway_id": "not-a-uuid"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"q": "x" * 201},
        {"district": "x" * 33},
    ],
)
async def test_bad_filters_are_422(registry, admin, params) -> None:
    r = await registry.get("/v1/cameras", params=params, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


HOSTILE_VALUES = [
    "%FF%FE",
    "9" * 400,
    "1e309",
    "NaN",
    "' OR 1=1 --",
    "%25_%5C%25",
    "%E2%80%AE%F0%9F%98%80",
    ",,,,",
]


LIST_PARAMS = [
    "district", "ward", "lifecycle", "kind", "vendor", "model", "tag", "owner", "gateway_id",
    "q", "bbox", "near", "radius_m", "limit", "cursor",
]  # fmt: skip


@pytest.mark.parametrize("path", ["/v1/cameras", "/v1/cameras/export"])
async def test_hostile_query_values_never_give_a_500(registry, admin, fleet, path) -> None:
    for name in LIST_PARAMS:
        for value in HOSTILE_VALUES:
            extra = "&radius_m=10" if name == "near" else "&near=10.8,106.7" if name == "radius_m" else ""
            r = await registry.get(f"{path}?{name}={value}{extra}", headers=admin)
            assert r.status_code < 500, (name, value, r.text)
            if r.status_code >= 400:
                assert r.headers["content-type"] == "application/problem+json", (name, value)
