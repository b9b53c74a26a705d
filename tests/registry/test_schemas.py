"""Bad input for every camera field: types, ranges, unknown enum values and areas, NUL, oversized strings."""

import pytest
from sqlalchemy import func, select

from shared.models import Camera
from tests.helpers import PROBLEM_JSON, camera

BAD_VALUES = [
    ("code", None),
    ("code", ""),
    ("code", "has space"),
    ("code", "x" * 65),
    ("code", "A\u0000B"),
    ("code", 42),
    ("code", "export"),
    ("code", "Import"),
    ("name", ""),
    ("name", "x" * 201),
    ("name", "nul\u0000byte"),
    ("name", ["list"]),
    ("latitude", 91),
    ("latitude", -90.5),
    ("latitude", "north"),
    ("latitude", None),
    ("latitude", "NaN"),
    ("longitude", "-Infinity"),
    ("longitude", 181),
    ("longitude", {"deg": 1}),
    ("address", "x" * 2001),
    ("address", "bell\u0007"),
    ("district", "NOPE"),
    ("district", ""),
    ("district", "x" * 33),
    ("district", None),
    ("ward", "NOWARD"),
    ("road", "x" * 201),
    ("direction", "x" * 65),
    ("kind", "thermal"),
    ("kind", "PTZ"),
    ("vendor", "x" * 101),
    ("model", "x" * 101),
    ("firmware", "x" * 101),
    ("ip", "999.1.1.1"),
    ("ip", "not-an-ip"),
    ("stream_url", "ftp://cam/stream"),
    ("stream_url", "rtsp://"),
    ("stream_url", "rtsp://host:99999/x"),
    ("stream_url", "x" * 2001),
    ("stream_url", "javascript:alert(1)"),
    ("lifecycle", "retired"),
    ("heartbeat_interval_s", 4),
    ("heartbeat_interval_s", 3601),
    ("heartbeat_interval_s", 10**30),
    ("heartbeat_interval_s", "often"),
    ("heartbeat_interval_s", 30.5),
    ("tags", "not-a-list"),
    ("tags", [""]),
    ("tags", ["x" * 65]),
    ("tags", ["t"] * 51),
    ("tags", [1]),
    ("owner", "x" * 201),
    ("gateway_id", "not-a-uuid"),
    ("gateway_id", "00000000-0000-0000-0000-000000000009"),
    ("installed_at", "yesterday"),
    ("installed_at", "2024-01-01T00:00:00"),
    ("unknown_field", "x"),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
async def test_bad_field_on_create_is_a_4xx_problem_and_writes_nothing(registry, admin, session, field, value) -> None:
    r = await registry.post("/v1/cameras", json=camera(**{field: value}), headers=admin)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert await session.scalar(select(func.count()).select_from(Camera)) == 0


@pytest.mark.parametrize(("field", "value"), [fv for fv in BAD_VALUES if fv[0] != "code" or fv[1] is not None])
async def test_bad_field_on_patch_is_a_4xx_problem_and_changes_nothing(registry, create, admin, field, value) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={field: value}, headers=admin)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    after = (await registry.get(f"/v1/cameras/{made['code']}", headers=admin)).json()
    assert after["version"] == made["version"]


async def test_errors_never_echo_the_rejected_value(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(latitude="sekrit-value"), headers=admin)
    assert "sekrit-value" not in r.text


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'{"latitude": 1e400}', b'"string"', b"null", b'{"a": NaN}', b"\xff\xfe", b'{"name": "\\u0000"}'],
)
async def test_malformed_bodies_are_4xx(registry, admin, body) -> None:
    r = await registry.post("/v1/cameras", content=body, headers={**admin, "content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"] == PROBLEM_JSON


async def test_oversized_json_body_is_413(registry, admin) -> None:
    r = await registry.post(
        "/v1/cameras",
        content=b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}',
        headers={**admin, "content-type": "application/json"},
    )
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("header", "expected"),
    [('"garbage"', 412), ('W/"x"', 412), ("", 412)],
)
async def test_if_match_that_matches_nothing_is_412(registry, create, admin, header, expected) -> None:
    made = await create()
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"name": "n"}, headers={**admin, "If-Match": header})
    assert r.status_code == expected


async def test_overlong_path_ref_is_422(registry, admin) -> None:
    r = await registry.get("/v1/cameras/" + "x" * 65, headers=admin)
    assert r.status_code == 422
