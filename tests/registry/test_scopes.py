"""The scope matrix: role x write endpoint x camera inside/outside the key's districts."""

import pytest

from tests.helpers import bearer, camera

# (role, districts) of the caller.
CALLERS = {
    "admin": ("admin", None),
    "field": ("field", None),
    "field-BTH": ("field", ["BTH"]),
    "operator": ("operator", None),
    "operator-BTH": ("operator", ["BTH"]),
    "monitor": ("monitor", None),
}

# endpoint -> caller -> (status for a camera in BTH, status for a camera in Q1)
MATRIX = {
    "create": {
        "admin": (201, 201),
        "field": (201, 201),
        "field-BTH": (201, 403),
        "operator": (403, 403),
        "operator-BTH": (403, 403),
        "monitor": (403, 403),
    },
    "read": {
        "admin": (200, 200),
        "field": (200, 200),
        "field-BTH": (200, 200),
        "operator": (200, 200),
        "operator-BTH": (200, 200),
        "monitor": (403, 403),
    },
    "edit": {
        "admin": (200, 200),
        "field": (200, 200),
        "field-BTH": (200, 403),
        "operator": (403, 403),
        "operator-BTH": (403, 403),
        "monitor": (403, 403),
    },
    "maintenance": {
        "admin": (200, 200),
        "field": (200, 200),
        "field-BTH": (200, 403),
        "operator": (200, 200),
        "operator-BTH": (200, 403),
        "monitor": (403, 403),
    },
    "decommission": {
        "admin": (204, 204),
        "field": (204, 204),
        "field-BTH": (204, 403),
        "operator": (403, 403),
        "operator-BTH": (403, 403),
        "monitor": (403, 403),
    },
    "rotate-token": {
        "admin": (200, 200),
        "field": (200, 200),
        "field-BTH": (200, 403),
        "operator": (403, 403),
        "operator-BTH": (403, 403),
        "monitor": (403, 403),
    },
    "changes": {
        "admin": (200, 200),
        "field": (200, 200),
        "field-BTH": (200, 200),
        "operator": (200, 200),
        "operator-BTH": (200, 200),
        "monitor": (403, 403),
    },
}

CASES = [
    (endpoint, caller, district, expected[0 if district == "BTH" else 1])
    for endpoint, row in MATRIX.items()
    for caller, expected in row.items()
    for district in ("BTH", "Q1")
]


async def _call(registry, endpoint: str, code: str, district: str, headers: dict[str, str]):
    path = f"/v1/cameras/{code}"
    if endpoint == "create":
        return await registry.post(
            "/v1/cameras", json=camera(code=f"NEW-{district}", district=district), headers=headers
        )
    if endpoint == "read":
        return await registry.get(path, headers=headers)
    if endpoint == "edit":
        return await registry.patch(path, json={"name": "renamed"}, headers=headers)
    if endpoint == "maintenance":
        return await registry.patch(path, json={"lifecycle": "maintenance"}, headers=headers)
    if endpoint == "decommission":
        return await registry.delete(path, headers=headers)
    if endpoint == "rotate-token":
        return await registry.post(f"{path}/rotate-token", headers=headers)
    return await registry.get(f"{path}/changes", headers=headers)


@pytest.mark.parametrize(("endpoint", "caller", "district", "expected"), CASES)
async def test_scope_matrix(registry, create, make_key, endpoint, caller, district, expected) -> None:
    made = await create(code=f"CAM-{district}", district=district)
    role, districts = CALLERS[caller]
    headers = bearer(await make_key(role, districts))
    r = await _call(registry, endpoint, made["code"], district, headers)
    assert r.status_code == expected, r.text
    if expected == 403:
        assert r.headers["content-type"] == "application/problem+json"


async def test_a_scoped_field_key_cannot_move_a_camera_out_of_its_districts(registry, create, make_key) -> None:
    made = await create(code="CAM-BTH", district="BTH")
    key = bearer(await make_key("field", ["BTH"]))
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"district": "Q1"}, headers=key)
    assert r.status_code == 403
    assert (await registry.get(f"/v1/cameras/{made['code']}", headers=key)).json()["district"] == "BTH"


async def test_a_scoped_field_key_may_move_a_camera_between_its_districts(registry, create, make_key) -> None:
    made = await create(code="CAM-BTH", district="BTH")
    key = bearer(await make_key("field", ["BTH", "Q1"]))
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"district": "Q1"}, headers=key)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("start", "target", "expected"),
    [
        ("active", "maintenance", 200),
        ("maintenance", "active", 200),
        ("planned", "maintenance", 200),
        ("active", "planned", 403),
        ("maintenance", "decommissioned", 403),
        ("active", "decommissioned", 403),
    ],
)
async def test_operator_only_moves_into_or_out_of_maintenance(
    registry, create, make_key, start, target, expected
) -> None:
    made = await create(lifecycle=start)
    key = bearer(await make_key("operator"))
    r = await registry.patch(f"/v1/cameras/{made['code']}", json={"lifecycle": target}, headers=key)
    assert r.status_code == expected


async def test_operator_cannot_slip_other_fields_into_a_maintenance_change(registry, create, make_key) -> None:
    made = await create()
    key = bearer(await make_key("operator"))
    r = await registry.patch(
        f"/v1/cameras/{made['code']}", json={"lifecycle": "maintenance", "name": "sneaky"}, headers=key
    )
    assert r.status_code == 403
    assert (await registry.get(f"/v1/cameras/{made['code']}", headers=key)).json()["lifecycle"] == "active"
