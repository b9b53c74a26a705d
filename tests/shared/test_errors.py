"""Hostile input gets a clear 4xx problem+json, never a 500 and never a half-written row."""

import json

import pytest
from sqlalchemy import func, select

from shared.models import Camera
from tests.helpers import PROBLEM_JSON, bearer, camera

JSON = {"content-type": "application/json"}


@pytest.fixture
async def admin(make_key) -> dict[str, str]:
    return bearer(await make_key("admin"))


async def _post_raw(registry, admin, body: bytes, content_type: str = "application/json"):
    return await registry.post("/v1/cameras", content=body, headers={**admin, "content-type": content_type})


def _assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    assert "Traceback" not in r.text
    return body


async def test_malformed_json_is_400(registry, admin) -> None:
    _assert_problem(await _post_raw(registry, admin, b'{"code": "A-1",'), 400)


async def test_invalid_utf8_is_400(registry, admin) -> None:
    body = json.dumps(camera(), ensure_ascii=False).encode().replace("Cầu".encode(), b"C\xff\xfeu")
    assert b"\xff\xfe" in body
    _assert_problem(await _post_raw(registry, admin, body), 400)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_422(registry, admin, constant) -> None:
    body = json.dumps(camera()).replace("10.7985", constant).encode()
    _assert_problem(await _post_raw(registry, admin, body), 422)


async def test_float_overflowing_to_infinity_is_422(registry, admin) -> None:
    body = json.dumps(camera()).replace("10.7985", "1e999").encode()
    _assert_problem(await _post_raw(registry, admin, body), 422)


async def test_escaped_nul_in_a_string_is_422(registry, admin) -> None:
    body = json.dumps(camera(name="bad\u0000name")).encode()
    assert b"\\u0000" in body
    _assert_problem(await _post_raw(registry, admin, body), 422)


async def test_raw_nul_byte_is_422(registry, admin) -> None:
    body = json.dumps(camera()).encode().replace(b"Hikvision", b"Hik\x00vision")
    _assert_problem(await _post_raw(registry, admin, body), 422)


async def test_integer_beyond_the_column_type_is_422(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(heartbeat_interval_s=10**30), headers=admin)
    _assert_problem(r, 422)


async def test_integer_with_thousands_of_digits_is_400(registry, admin) -> None:
    body = json.dumps(camera()).replace('"ptz"', '"ptz", "x": ' + "9" * 5000).encode()
    _assert_problem(await _post_raw(registry, admin, body), 400)


async def test_deeply_nested_json_is_422(registry, admin) -> None:
    body = b'{"tags": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    _assert_problem(await _post_raw(registry, admin, body), 422)


async def test_body_over_the_limit_is_413(registry, admin) -> None:
    body = json.dumps(camera(address="x" * (1024 * 1024 + 1))).encode()
    _assert_problem(await _post_raw(registry, admin, body), 413)


async def test_form_encoded_body_is_415(registry, admin) -> None:
    _assert_problem(await _post_raw(registry, admin, b"code=A-1", "application/x-www-form-urlencoded"), 415)


async def test_unknown_enum_value_is_422_naming_the_field(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(kind="periscope"), headers=admin)
    body = _assert_problem(r, 422)
    assert any(e["loc"] == ["kind"] for e in body["errors"])


async def test_unknown_field_is_422(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(colour="red"), headers=admin)
    _assert_problem(r, 422)


async def test_unknown_district_is_422(registry, admin) -> None:
    r = await registry.post("/v1/cameras", json=camera(district="ZZZ"), headers=admin)
    _assert_problem(r, 422)


async def test_rejected_input_writes_no_row(registry, admin, session) -> None:
    await registry.post("/v1/cameras", json=camera(code="HALF-1", district="ZZZ"), headers=admin)
    assert await session.scalar(select(func.count()).select_from(Camera).where(Camera.code == "HALF-1")) == 0


async def test_nul_in_query_string_is_400(registry, admin) -> None:
    _assert_problem(await registry.get("/v1/areas?parent=a%00b", headers=admin), 400)


async def test_nul_in_path_is_400(registry, admin) -> None:
    _assert_problem(await registry.get("/v1/cameras/BTH%00-1", headers=admin), 400)


async def test_limit_over_1000_is_422(registry, admin) -> None:
    _assert_problem(await registry.get("/v1/areas?limit=100000", headers=admin), 422)


async def test_garbage_limit_is_422(registry, admin) -> None:
    _assert_problem(await registry.get("/v1/areas?limit=abc", headers=admin), 422)


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "%FF%FE", "e30"])
async def test_garbage_cursor_is_400(registry, admin, cursor) -> None:
    _assert_problem(await registry.get(f"/v1/areas?cursor={cursor}", headers=admin), 400)


async def test_unknown_route_is_404_problem(registry) -> None:
    _assert_problem(await registry.get("/v1/nothing-here"), 404)


async def test_wrong_method_is_405_problem(registry) -> None:
    _assert_problem(await registry.put("/v1/areas", json={}), 405)


async def test_duplicate_code_is_409_problem(registry, admin) -> None:
    assert (await registry.post("/v1/cameras", json=camera(), headers=admin)).status_code == 201
    _assert_problem(await registry.post("/v1/cameras", json=camera(), headers=admin), 409)
