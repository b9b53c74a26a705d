"""Console sign-in: key for cookie, the cookie's flags, CSRF on writes, roles, sign-out, expiry."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from services.health.console.sessions import COOKIE, CSRF_HEADER
from tests.helpers import bearer


async def _sign_in(health, key: str):
    r = await health.post("/v1/console/session", json={"api_key": key})
    assert r.status_code == 201, r.text
    return r


async def _incident(session, district: str = "Q1") -> int:
    incident_id = (
        await session.execute(
            text(
                "INSERT INTO incident (kind, scope, district, state, cause, opened_at)"
                " VALUES ('district', :d, :d, 'open', 'power', now()) RETURNING id"
            ),
            {"d": district},
        )
    ).scalar_one()
    await session.commit()
    return incident_id


async def test_a_key_is_exchanged_for_an_httponly_strict_cookie_with_an_expiry(health, make_key) -> None:
    r = await _sign_in(health, await make_key("operator"))
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in flags  # plain HTTP here; see the next test


async def test_the_cookie_is_secure_over_https(client_for, make_key) -> None:
    from services.health.main import app

    async with client_for(app) as client:
        client.base_url = client.base_url.copy_with(scheme="https")
        r = await client.post("/v1/console/session", json={"api_key": await make_key("monitor")})
    assert r.status_code == 201
    assert "secure" in {part.strip().lower() for part in r.headers["set-cookie"].split(";")}


async def test_the_session_stores_only_a_hash_and_never_the_key(health, make_key, session) -> None:
    key = await make_key("operator")
    r = await _sign_in(health, key)
    token = r.cookies[COOKIE]
    rows = (await session.execute(text("SELECT * FROM console_session"))).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert token not in stored and key not in stored and key not in r.text


async def test_an_unknown_key_is_401_and_sets_no_cookie(health) -> None:
    r = await health.post("/v1/console/session", json={"api_key": "cck_not-a-key-at-all"})
    assert r.status_code == 401 and "set-cookie" not in r.headers


async def test_the_cookie_reads_health_without_a_key(health, make_key) -> None:
    await _sign_in(health, await make_key("monitor"))
    assert (await health.get("/v1/health/summary")).status_code == 200


async def test_no_cookie_and_no_key_is_401(health) -> None:
    assert (await health.get("/v1/health/summary")).status_code == 401


async def test_the_session_tells_its_role_and_csrf_token(health, make_key) -> None:
    signed = (await _sign_in(health, await make_key("monitor"))).json()
    again = (await health.get("/v1/console/session")).json()
    assert again == signed and again["role"] == "monitor" and again["can_ack"] is False


async def test_a_write_with_the_cookie_needs_the_csrf_header(health, make_key, session) -> None:
    incident_id = await _incident(session)
    csrf = (await _sign_in(health, await make_key("operator"))).json()["csrf_token"]
    refused = await health.post(f"/v1/health/incidents/{incident_id}/ack")
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
    wrong = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers={CSRF_HEADER: "0" * 64})
    assert wrong.status_code == 403
    ok = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers={CSRF_HEADER: csrf})
    assert ok.status_code == 200 and ok.json()["acked_by"].startswith("test-operator-")


async def test_a_monitor_session_cannot_ack(health, make_key, session) -> None:
    incident_id = await _incident(session)
    csrf = (await _sign_in(health, await make_key("monitor"))).json()["csrf_token"]
    r = await health.post(f"/v1/health/incidents/{incident_id}/ack", headers={CSRF_HEADER: csrf})
    assert r.status_code == 403


async def test_a_district_session_acks_only_its_districts(health, make_key, session) -> None:
    ours, theirs = await _incident(session, "BTH"), await _incident(session, "Q1")
    csrf = (await _sign_in(health, await make_key("operator", ["BTH"]))).json()["csrf_token"]
    assert (await health.post(f"/v1/health/incidents/{ours}/ack", headers={CSRF_HEADER: csrf})).status_code == 200
    assert (await health.post(f"/v1/health/incidents/{theirs}/ack", headers={CSRF_HEADER: csrf})).status_code == 403


async def test_sign_out_ends_the_session_server_side(health, make_key) -> None:
    r = await _sign_in(health, await make_key("monitor"))
    token, csrf = r.cookies[COOKIE], r.json()["csrf_token"]
    out = await health.delete("/v1/console/session", headers={CSRF_HEADER: csrf})
    assert out.status_code == 204
    # The same cookie, replayed after sign-out, signs nobody in.
    health.cookies.set(COOKIE, token)
    assert (await health.get("/v1/health/summary")).status_code == 401


async def test_sign_out_needs_the_csrf_header(health, make_key) -> None:
    await _sign_in(health, await make_key("monitor"))
    assert (await health.delete("/v1/console/session")).status_code == 403
    assert (await health.get("/v1/console/session")).status_code == 200


async def test_an_expired_session_is_401(health, make_key, session) -> None:
    await _sign_in(health, await make_key("monitor"))
    await session.execute(text("UPDATE console_session SET expires_at = :t"), {"t": datetime.now(UTC) - timedelta(1)})
    await session.commit()
    assert (await health.get("/v1/health/summary")).status_code == 401


async def test_revoking_the_key_ends_its_sessions(health, make_key, session) -> None:
    await _sign_in(health, await make_key("monitor"))
    await session.execute(text("UPDATE api_key SET revoked_at = now()"))
    await session.commit()
    assert (await health.get("/v1/console/session")).status_code == 204


async def test_a_key_header_wins_over_the_cookie(health, make_key) -> None:
    await _sign_in(health, await make_key("monitor"))
    r = await health.get("/v1/health/summary", headers=bearer("cck_wrong"))
    assert r.status_code == 401


async def test_the_key_is_in_no_log_line(health, make_key, caplog) -> None:
    key = await make_key("operator")
    with caplog.at_level("DEBUG"):
        await _sign_in(health, key)
        await health.get("/v1/console/session")
    assert caplog.records and all(key not in record.getMessage() for record in caplog.records)
