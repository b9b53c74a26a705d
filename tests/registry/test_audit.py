"""The audit trail (audit.py): who, which request, each field from -> to, in keyset pages."""

from tests.helpers import bearer


async def test_changes_record_key_name_request_id_and_from_to(registry, create, make_key) -> None:
    key = await make_key("admin")
    made = await create()
    await registry.patch(
        f"/v1/cameras/{made['code']}",
        json={"heartbeat_interval_s": 60},
        headers={**bearer(key), "X-Request-ID": "req-audit-1"},
    )
    change = (await registry.get(f"/v1/cameras/{made['code']}/changes", headers=bearer(key))).json()["items"][0]
    assert change["changes"] == {"heartbeat_interval_s": {"from": 30, "to": 60}}
    assert change["request_id"] == "req-audit-1"
    assert change["actor"].startswith("test-admin-")
    assert change["at"].endswith("Z") or change["at"].endswith("+00:00")


async def test_changes_page_with_a_cursor(registry, create, admin) -> None:
    made = await create()
    for interval in (40, 50, 60):
        await registry.patch(f"/v1/cameras/{made['code']}", json={"heartbeat_interval_s": interval}, headers=admin)
    first = (await registry.get(f"/v1/cameras/{made['code']}/changes?limit=2", headers=admin)).json()
    second = (
        await registry.get(f"/v1/cameras/{made['code']}/changes?limit=2&cursor={first['next_cursor']}", headers=admin)
    ).json()
    actions = [c["action"] for c in first["items"] + second["items"]]
    assert actions == ["update", "update", "update", "create"]
    assert second["next_cursor"] is None


async def test_changes_with_a_garbage_cursor_is_400(registry, create, admin) -> None:
    made = await create()
    r = await registry.get(f"/v1/cameras/{made['code']}/changes?cursor=eyJjb2RlIjoxfQ", headers=admin)
    assert r.status_code == 400
