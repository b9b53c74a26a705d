"""API keys (api_keys.py): the secret shown once and stored hashed, revoked, scoped to known districts."""

from tests.helpers import bearer


async def test_api_key_is_shown_once_and_stored_hashed(registry, make_key, session) -> None:
    from sqlalchemy import select

    from shared.models import ApiKey

    admin = await make_key("admin")
    r = await registry.post("/v1/api-keys", json={"name": "wall", "role": "monitor"}, headers=bearer(admin))
    assert r.status_code == 201
    secret = r.json()["key"]
    assert len(secret) >= 40  # >= 128 bits of entropy after the prefix
    stored = await session.scalar(select(ApiKey).where(ApiKey.prefix == secret[:12]))
    assert stored is not None and secret not in (stored.key_hash, stored.prefix)
    listed = await registry.get("/v1/api-keys", headers=bearer(admin))
    assert secret not in listed.text


async def test_revoking_a_key_locks_it_out(registry, make_key) -> None:
    admin = await make_key("admin")
    created = (
        await registry.post("/v1/api-keys", json={"name": "t", "role": "operator"}, headers=bearer(admin))
    ).json()
    assert (await registry.delete(f"/v1/api-keys/{created['id']}", headers=bearer(admin))).status_code == 204
    r = await registry.get("/v1/areas", headers=bearer(created["key"]))
    assert r.status_code == 401


async def test_api_key_with_unknown_district_is_422(registry, make_key) -> None:
    admin = await make_key("admin")
    r = await registry.post(
        "/v1/api-keys", json={"name": "t", "role": "field", "districts": ["NOPE"]}, headers=bearer(admin)
    )
    assert r.status_code == 422
