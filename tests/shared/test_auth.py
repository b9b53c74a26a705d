"""The auth matrix: missing, unknown and revoked keys, each role, and district scopes."""

import pytest

from tests.helpers import PROBLEM_JSON, bearer, camera


async def test_no_key_is_401_problem(registry) -> None:
    r = await registry.get("/v1/cameras/BTH-0001")
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["www-authenticate"] == "Bearer"


async def test_unknown_key_is_401(registry) -> None:
    r = await registry.get("/v1/areas", headers=bearer("cck_not-a-real-key"))
    assert r.status_code == 401


async def test_non_bearer_scheme_is_401(registry, make_key) -> None:
    key = await make_key("admin")
    r = await registry.get("/v1/areas", headers={"Authorization": f"Basic {key}"})
    assert r.status_code == 401


async def test_revoked_key_is_401(registry, make_key) -> None:
    key = await make_key("admin", revoked=True)
    r = await registry.get("/v1/areas", headers=bearer(key))
    assert r.status_code == 401


@pytest.mark.parametrize(("role", "expected"), [("admin", 201), ("field", 201), ("operator", 403), ("monitor", 403)])
async def test_who_may_register_a_camera(registry, make_key, role, expected) -> None:
    key = await make_key(role)
    r = await registry.post("/v1/cameras", json=camera(), headers=bearer(key))
    assert r.status_code == expected


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("field", 200), ("operator", 200), ("monitor", 403)])
async def test_who_may_read_the_registry(registry, make_key, role, expected) -> None:
    key = await make_key(role)
    r = await registry.get("/v1/areas", headers=bearer(key))
    assert r.status_code == expected


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("field", 403), ("operator", 403), ("monitor", 403)])
async def test_only_admins_manage_api_keys(registry, make_key, role, expected) -> None:
    key = await make_key(role)
    r = await registry.get("/v1/api-keys", headers=bearer(key))
    assert r.status_code == expected


async def test_field_key_scoped_to_bth_may_register_in_bth(registry, make_key) -> None:
    key = await make_key("field", ["BTH"])
    r = await registry.post("/v1/cameras", json=camera(district="BTH"), headers=bearer(key))
    assert r.status_code == 201


async def test_field_key_scoped_to_bth_may_not_register_in_q1(registry, make_key) -> None:
    key = await make_key("field", ["BTH"])
    r = await registry.post("/v1/cameras", json=camera(district="Q1"), headers=bearer(key))
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM_JSON


async def test_field_key_scoped_to_bth_may_read_q1(registry, make_key) -> None:
    admin = await make_key("admin")
    await registry.post("/v1/cameras", json=camera(code="Q1-0001", district="Q1"), headers=bearer(admin))
    key = await make_key("field", ["BTH"])
    r = await registry.get("/v1/cameras/Q1-0001", headers=bearer(key))
    assert r.status_code == 200


async def test_using_a_key_records_last_used_at(registry, make_key, session) -> None:
    from sqlalchemy import select

    from shared.models import ApiKey

    key = await make_key("operator")
    await registry.get("/v1/areas", headers=bearer(key))
    used = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.prefix == key[:12]))
    assert used is not None
