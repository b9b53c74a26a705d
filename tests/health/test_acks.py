"""Incident acknowledgement: who may, what the incident shows, and the webhook deliveries it queues."""

from sqlalchemy import text

from tests.helpers import PROBLEM_JSON, bearer


async def _incident(session, *, district: str | None = "Q1", state: str = "open") -> int:
    incident_id = (
        await session.execute(
            text(
                "INSERT INTO incident (kind, scope, district, state, cause, opened_at)"
                " VALUES ('district', :scope, :district, :state, 'power or network', now()) RETURNING id"
            ),
            {"scope": district or "ingest", "district": district, "state": state},
        )
    ).scalar_one()
    await session.commit()
    return incident_id


async def _webhook(session, districts: list[str] | None = None) -> None:
    await session.execute(
        text(
            "INSERT INTO webhook (id, name, url, secret, districts, created_by)"
            " VALUES (gen_random_uuid(), 'hook', 'https://example.test/hook', 's', :d, 'test')"
        ),
        {"d": districts},
    )
    await session.commit()


async def test_an_operator_acks_with_a_note_and_the_incident_shows_it(health, make_key, session) -> None:
    incident_id = await _incident(session)
    key = await make_key("operator")
    r = await health.post(f"/v1/health/incidents/{incident_id}/ack", json={"note": "team sent"}, headers=bearer(key))
    assert r.status_code == 200
    got = (await health.get(f"/v1/health/incidents/{incident_id}", headers=bearer(key))).json()
    assert got["acked_by"].startswith("test-operator-") and got["acked_at"] is not None
    assert got["note"] == "team sent"


async def test_an_ack_needs_no_body(health, make_key, session) -> None:
    incident_id = await _incident(session)
    r = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(await make_key("admin")))
    assert r.status_code == 200 and r.json()["acked_at"] is not None and r.json()["note"] is None


async def test_unack_clears_the_ack(health, make_key, session) -> None:
    incident_id = await _incident(session)
    key = await make_key("operator")
    await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(key))
    r = await health.post(f"/v1/health/incidents/{incident_id}/unack", json={"note": "wrong"}, headers=bearer(key))
    assert r.status_code == 200
    assert (r.json()["acked_by"], r.json()["acked_at"], r.json()["note"]) == (None, None, "wrong")


async def test_a_monitor_cannot_ack(health, make_key, session) -> None:
    incident_id = await _incident(session)
    r = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(await make_key("monitor")))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON
    assert (await session.execute(text("SELECT acked_at FROM incident"))).scalar_one() is None


async def test_a_field_key_cannot_ack(health, make_key, session) -> None:
    incident_id = await _incident(session)
    r = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(await make_key("field")))
    assert r.status_code == 403


async def test_a_district_key_acks_only_its_districts(health, make_key, session) -> None:
    ours, theirs = await _incident(session, district="BTH"), await _incident(session, district="Q1")
    key = await make_key("operator", ["BTH"])
    assert (await health.post(f"/v1/health/incidents/{ours}/ack", headers=bearer(key))).status_code == 200
    r = await health.post(f"/v1/health/incidents/{theirs}/ack", headers=bearer(key))
    assert r.status_code == 403 and "BTH" in r.json()["detail"]


async def test_a_district_key_cannot_ack_a_city_wide_incident(health, make_key, session) -> None:
    incident_id = await _incident(session, district=None)
    r = await health.post(
        f"/v1/health/incidents/{incident_id}/ack", headers=bearer(await make_key("operator", ["BTH"]))
    )
    assert r.status_code == 403


async def test_a_district_key_still_reads_every_incident(health, make_key, session) -> None:
    incident_id = await _incident(session, district="Q1")
    r = await health.get(f"/v1/health/incidents/{incident_id}", headers=bearer(await make_key("operator", ["BTH"])))
    assert r.status_code == 200


async def test_acking_a_closed_incident_is_409(health, make_key, session) -> None:
    incident_id = await _incident(session, state="closed")
    r = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(await make_key("operator")))
    assert r.status_code == 409


async def test_unacking_an_unacked_incident_is_409(health, make_key, session) -> None:
    incident_id = await _incident(session)
    r = await health.post(f"/v1/health/incidents/{incident_id}/unack", headers=bearer(await make_key("operator")))
    assert r.status_code == 409


async def test_an_unknown_incident_is_404(health, make_key) -> None:
    r = await health.post("/v1/health/incidents/999999/ack", headers=bearer(await make_key("operator")))
    assert r.status_code == 404


async def test_a_note_over_500_characters_is_422_and_writes_nothing(health, make_key, session) -> None:
    incident_id = await _incident(session)
    r = await health.post(
        f"/v1/health/incidents/{incident_id}/ack", json={"note": "x" * 501}, headers=bearer(await make_key("operator"))
    )
    assert r.status_code == 422
    assert (await session.execute(text("SELECT acked_at FROM incident"))).scalar_one() is None


async def test_an_ack_queues_one_delivery_per_incident_webhook(health, make_key, session) -> None:
    incident_id = await _incident(session, district="Q1")
    await _webhook(session)
    await _webhook(session, ["Q1"])
    await _webhook(session, ["BTH"])
    await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(await make_key("operator")))
    rows = (await session.execute(text("SELECT event, payload FROM webhook_delivery"))).all()
    assert [r.event for r in rows] == ["incident.acked", "incident.acked"]
    assert rows[0].payload["incident"]["acked_at"] is not None


async def test_an_unack_is_delivered_as_incident_unacked(health, make_key, session) -> None:
    incident_id = await _incident(session)
    key = await make_key("operator")
    await health.post(f"/v1/health/incidents/{incident_id}/ack", headers=bearer(key))
    await _webhook(session)
    await health.post(f"/v1/health/incidents/{incident_id}/unack", headers=bearer(key))
    events = (await session.execute(text("SELECT event FROM webhook_delivery"))).scalars().all()
    assert events == ["incident.unacked"]
