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


async def test_reads_mask_the_url_path_and_query(health, make_key) -> None:
    headers = bearer(await make_key("operator"))
    secret_url = "https://93.184.216.34/services/T000/B000/XXXX?token=abc"
    created = (await health.post("/v1/health/webhooks", json={**HOOK, "url": secret_url}, headers=headers)).json()
    assert created["url"] == "https://93.184.216.34/***"
    one = await health.get(f"/v1/health/webhooks/{created['id']}", headers=headers)
    listed = await health.get("/v1/health/webhooks", headers=headers)
    for text in (one.text, listed.text):
        assert "XXXX" not in text and "token" not in text


async def test_an_operator_cannot_see_or_change_another_keys_webhook(health, make_key) -> None:
    mine, theirs = bearer(await make_key("operator")), bearer(await make_key("operator"))
    created = (await health.post("/v1/health/webhooks", json=HOOK, headers=mine)).json()
    path = f"/v1/health/webhooks/{created['id']}"
    assert (await health.get("/v1/health/webhooks", headers=theirs)).json()["items"] == []
    assert (await health.get(path, headers=theirs)).status_code == 404
    assert (await health.get(f"{path}/deliveries", headers=theirs)).status_code == 404
    assert (await health.post(f"{path}/disable", headers=theirs)).status_code == 404
    assert (await health.post(f"{path}/enable", headers=theirs)).status_code == 404
    assert (await health.delete(path, headers=theirs)).status_code == 404
    assert (await health.get(path, headers=mine)).json()["enabled"] is True


async def test_an_admin_sees_and_changes_every_webhook(health, make_key) -> None:
    operator, admin = bearer(await make_key("operator")), bearer(await make_key("admin"))
    created = (await health.post("/v1/health/webhooks", json=HOOK, headers=operator)).json()
    listed = (await health.get("/v1/health/webhooks", headers=admin)).json()["items"]
    assert created["id"] in [h["id"] for h in listed]
    disabled = await health.post(f"/v1/health/webhooks/{created['id']}/disable", headers=admin)
    assert (disabled.status_code, disabled.json()["enabled"]) == (200, False)


async def test_every_change_is_audited_without_the_secret(health, make_key) -> None:
    headers = {**bearer(await make_key("operator")), "X-Request-ID": "req-audit-1"}
    created = (await health.post("/v1/health/webhooks", json=HOOK, headers=headers)).json()
    path = f"/v1/health/webhooks/{created['id']}"
    await health.post(f"{path}/disable", headers=headers)
    await health.post(f"{path}/enable", headers=headers)
    changes = await health.get(f"{path}/changes", headers=headers)
    assert changes.status_code == 200
    rows = changes.json()["items"]
    assert [r["action"] for r in rows] == ["enabled", "disabled", "created"]
    assert {r["request_id"] for r in rows} == {"req-audit-1"}
    assert rows[2]["changes"]["url"] == "https://93.184.216.34/***"
    assert created["secret"] not in changes.text
