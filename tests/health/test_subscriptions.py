"""Webhook subscriptions: the secret shown once, who may manage them, bad input, deletion."""

import pytest

from tests.health.hooks import HOOK
from tests.helpers import bearer


async def test_create_shows_the_secret_once(health, make_key) -> None:
    headers = bearer(await make_key("operator"))
    r = await health.post("/v1/health/webhooks", json=HOOK, headers=headers)
    assert r.status_code == 201
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert r.headers["location"] == f"/v1/health/webhooks/{created['id']}"
    listed = await health.get("/v1/health/webhooks", headers=headers)
    assert created["secret"] not in listed.text
    one = await health.get(f"/v1/health/webhooks/{created['id']}", headers=headers)
    assert "secret" not in one.json()


@pytest.mark.parametrize("role", ["monitor", "field"])
async def test_only_admin_and_operator_manage_webhooks(health, make_key, role) -> None:
    r = await health.post("/v1/health/webhooks", json=HOOK, headers=bearer(await make_key(role)))
    assert r.status_code == 403


async def test_unknown_fields_and_statuses_are_422(health, make_key) -> None:
    headers = bearer(await make_key("admin"))
    assert (await health.post("/v1/health/webhooks", json={**HOOK, "colour": 1}, headers=headers)).status_code == 422
    bad = {**HOOK, "statuses": ["exploded"]}
    assert (await health.post("/v1/health/webhooks", json=bad, headers=headers)).status_code == 422
    bad = {**HOOK, "districts": ["NOWHERE"]}
    assert (await health.post("/v1/health/webhooks", json=bad, headers=headers)).status_code == 422


async def test_delete_is_204_then_404(health, make_key) -> None:
    headers = bearer(await make_key("admin"))
    created = (await health.post("/v1/health/webhooks", json=HOOK, headers=headers)).json()
    assert (await health.delete(f"/v1/health/webhooks/{created['id']}", headers=headers)).status_code == 204
    assert (await health.get(f"/v1/health/webhooks/{created['id']}", headers=headers)).status_code == 404


# --- delivery against a local receiver, committed data on a scratch database -------------------------
