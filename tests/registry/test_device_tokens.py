"""A camera's device token (device_tokens.py): rotated, refused when decommissioned, audited, notified."""

from sqlalchemy import select, text

from shared.models import DeviceCredential


async def test_rotate_token_replaces_the_live_token(registry, create, admin, session) -> None:
    made = await create()
    r = await registry.post(f"/v1/cameras/{made['code']}/rotate-token", headers=admin)
    assert r.status_code == 200
    new = r.json()["device_token"]
    assert new != made["device_token"]
    rows = (
        await session.execute(
            select(DeviceCredential.prefix, DeviceCredential.revoked_at).where(DeviceCredential.camera_id == made["id"])
        )
    ).all()
    live = [prefix for prefix, revoked in rows if revoked is None]
    assert live == [new[:12]]
    assert len(rows) == 2


async def test_rotate_token_of_a_decommissioned_camera_is_409(registry, create, admin) -> None:
    made = await create()
    await registry.delete(f"/v1/cameras/{made['code']}", headers=admin)
    r = await registry.post(f"/v1/cameras/{made['code']}/rotate-token", headers=admin)
    assert r.status_code == 409


async def test_rotate_token_is_audited_without_the_token(registry, create, admin) -> None:
    made = await create()
    token = (await registry.post(f"/v1/cameras/{made['code']}/rotate-token", headers=admin)).json()["device_token"]
    r = await registry.get(f"/v1/cameras/{made['code']}/changes", headers=admin)
    assert r.json()["items"][0]["action"] == "rotate-token"
    assert token not in r.text


async def test_rotate_token_notifies_device_changed(registry, create, admin, session) -> None:
    made = await create()
    # The notification is queued in the transaction; pg_notification_queue_usage stays 0 until commit,
    # so the delivery itself is checked with committed data in test_live.py. Here: nothing fails.
    r = await registry.post(f"/v1/cameras/{made['code']}/rotate-token", headers=admin)
    assert r.status_code == 200
    assert (await session.execute(text("SELECT 1"))).scalar() == 1
