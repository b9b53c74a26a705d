"""Webhooks: target validation, the signature, retries with back-off, disabling, and the delivery log."""

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import text

from services.health import webhooks
from services.health.evaluation import evaluate
from services.health.settings import HealthSettings, get_health_settings
from shared.db import make_engine, make_sessionmaker
from tests.conftest import scratch_database
from tests.health.live import serve, wipe
from tests.helpers import PROBLEM_JSON, bearer, free_port

HOOK = {"name": "ops wall", "url": "https://93.184.216.34/hooks/citycam"}


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"type":"status"}'
    header = webhooks.sign("whsec_test", body, 1700000000)
    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_backoff_is_exponential_capped_and_jittered(attempt) -> None:
    s = HealthSettings(webhook_backoff_s=2, webhook_backoff_max_s=60)
    nominal = min(60, 2 * 2 ** (attempt - 1))
    for _ in range(20):
        assert 0.8 * nominal <= webhooks.backoff_s(attempt, s) <= 1.2 * nominal


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


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
        "not a url at all",
    ],
)
async def test_private_and_odd_targets_are_refused(health, make_key, url) -> None:
    r = await health.post("/v1/health/webhooks", json={**HOOK, "url": url}, headers=bearer(await make_key("admin")))
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON


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


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests.append((dict(request.headers), await request.body()))
            if len(self.requests) <= self.fail_first:
                return Response(status_code=503)
            return Response(status_code=204)


@pytest.fixture(scope="module")
async def hooks_url() -> AsyncIterator[str]:
    async with scratch_database("hooks") as url:
        yield url


@pytest.fixture
async def world(hooks_url, monkeypatch):
    monkeypatch.setenv("CITYCAM_HEALTH_WEBHOOK_ALLOW_PRIVATE", "true")
    get_health_settings.cache_clear()
    engine = make_engine(hooks_url, application_name="citycam-tests-hooks")
    receiver = Receiver()
    port = free_port()
    async with serve(receiver.app, port):
        yield engine, make_sessionmaker(engine), receiver, f"http://127.0.0.1:{port}/hook"
    await wipe(engine)
    await engine.dispose()
    get_health_settings.cache_clear()


async def _subscribe(sessionmaker, url: str, **kwargs) -> tuple[uuid.UUID, str]:
    from services.health.schemas import WebhookCreate
    from shared.auth import Principal

    principal = Principal(key_id=uuid.uuid4(), name="test", role="admin", districts=None)
    async with sessionmaker() as session:
        created = await webhooks.create_webhook(
            session, data=WebhookCreate(name="t", url=url, **kwargs), principal=principal
        )
        await session.commit()
    return created.id, created.secret


async def _camera_goes_offline(sessionmaker, s: HealthSettings) -> None:
    async with sessionmaker() as session:
        camera_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s)"
                " VALUES (:id, 'Q1-HOOK', 'hook', 10.78, 106.7, 'Q1', 5)"
            ),
            {"id": camera_id},
        )
        await session.execute(
            text("INSERT INTO camera_state (camera_id, received_at) VALUES (:id, clock_timestamp())"),
            {"id": camera_id},
        )
        await evaluate(session, settings=s)
        await session.commit()
        await session.execute(
            text("UPDATE camera_state SET received_at = received_at - interval '1 minute' WHERE camera_id = :id"),
            {"id": camera_id},
        )
        await evaluate(session, settings=s)
        await session.commit()


async def _deliver_until(sessionmaker, s, done, rounds=40):
    async with httpx.AsyncClient(timeout=2, follow_redirects=False) as client:
        for _ in range(rounds):
            await webhooks.deliver_due(sessionmaker, client, s)
            if await done():
                return True
            await asyncio.sleep(0.05)
    return False


async def test_a_transition_is_posted_signed(world) -> None:
    _engine, sessionmaker, receiver, url = world
    s = HealthSettings(webhook_allow_private=True)
    _hook_id, secret = await _subscribe(sessionmaker, url)
    await _camera_goes_offline(sessionmaker, s)

    async def done():
        return len(receiver.requests) >= 1

    assert await _deliver_until(sessionmaker, s, done)
    headers, body = receiver.requests[0]
    t, v1 = (part.split("=", 1)[1] for part in headers["x-citycam-signature"].split(","))
    assert v1 == hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["type"] == "status"
    assert (payload["event"]["from"], payload["event"]["to"], payload["event"]["code"]) == (
        "online",
        "offline",
        "Q1-HOOK",
    )
    async with sessionmaker() as session:
        state = (await session.execute(text("SELECT state FROM webhook_delivery"))).scalar_one()
    assert state == "delivered"


async def test_failures_are_retried_with_back_off_until_delivered(world) -> None:
    _engine, sessionmaker, receiver, url = world
    receiver.fail_first = 2
    s = HealthSettings(webhook_allow_private=True, webhook_backoff_s=0.1, webhook_max_attempts=5)
    await _subscribe(sessionmaker, url)
    await _camera_goes_offline(sessionmaker, s)

    async def done():
        async with sessionmaker() as session:
            row = (await session.execute(text("SELECT state, attempts FROM webhook_delivery"))).one()
        return row.state == "delivered" and row

    assert await _deliver_until(sessionmaker, s, done)
    async with sessionmaker() as session:
        row = (await session.execute(text("SELECT attempts, last_status_code FROM webhook_delivery"))).one()
        hook = (await session.execute(text("SELECT consecutive_failures, enabled FROM webhook"))).one()
    assert (row.attempts, row.last_status_code) == (3, 204)
    assert (hook.consecutive_failures, hook.enabled) == (0, True)
    assert len(receiver.requests) == 3


async def test_a_webhook_failing_again_and_again_is_disabled(world) -> None:
    _engine, sessionmaker, receiver, url = world
    receiver.fail_first = 1000
    s = HealthSettings(
        webhook_allow_private=True, webhook_backoff_s=0.05, webhook_max_attempts=10, webhook_disable_after=3
    )
    await _subscribe(sessionmaker, url)
    await _camera_goes_offline(sessionmaker, s)

    async def done():
        async with sessionmaker() as session:
            return not (await session.execute(text("SELECT enabled FROM webhook"))).scalar_one()

    assert await _deliver_until(sessionmaker, s, done)
    async with sessionmaker() as session:
        hook = (await session.execute(text("SELECT disabled_reason FROM webhook"))).one()
        states = set((await session.execute(text("SELECT state FROM webhook_delivery"))).scalars())
    assert "3 consecutive" in hook.disabled_reason
    assert states == {"cancelled"}
    assert len(receiver.requests) == 3


async def test_filters_keep_other_districts_out(world) -> None:
    _engine, sessionmaker, _receiver, url = world
    s = HealthSettings(webhook_allow_private=True)
    await _subscribe(sessionmaker, url, districts=["BTH"])
    await _camera_goes_offline(sessionmaker, s)
    async with sessionmaker() as session:
        assert (await session.execute(text("SELECT count(*) FROM webhook_delivery"))).scalar_one() == 0


async def test_a_gateway_outage_is_one_incident_delivery_not_n_transitions(world) -> None:
    _engine, sessionmaker, _receiver, url = world
    s = HealthSettings(webhook_allow_private=True, incident_min_cameras=3)
    await _subscribe(sessionmaker, url)
    async with sessionmaker() as session:
        gateway = uuid.uuid4()
        await session.execute(
            text("INSERT INTO gateway (id, code, name, district) VALUES (:id, 'NVR-1', 'NVR-1', 'Q1')"),
            {"id": gateway},
        )
        for i in range(4):
            camera_id = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO camera (id, code, name, latitude, longitude, district, heartbeat_interval_s,"
                    " gateway_id) VALUES (:id, :code, 'c', 10.78, 106.7, 'Q1', 5, :gw)"
                ),
                {"id": camera_id, "code": f"Q1-GW{i}", "gw": gateway},
            )
            await session.execute(
                text("INSERT INTO camera_state (camera_id, received_at) VALUES (:id, clock_timestamp())"),
                {"id": camera_id},
            )
        await evaluate(session, settings=s)
        await session.commit()
        await session.execute(text("UPDATE camera_state SET received_at = received_at - interval '20 seconds'"))
        await evaluate(session, settings=s)
        await session.commit()
        events = list((await session.execute(text("SELECT event FROM webhook_delivery"))).scalars())
    assert events == ["incident.opened"]


async def test_the_dispatcher_loop_delivers_in_the_background(world) -> None:
    _engine, sessionmaker, receiver, url = world
    s = HealthSettings(webhook_allow_private=True, webhook_poll_s=0.05)
    await _subscribe(sessionmaker, url)
    dispatcher = webhooks.Dispatcher(sessionmaker, s)
    task = asyncio.create_task(dispatcher.run())
    try:
        await _camera_goes_offline(sessionmaker, s)
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 5)
    assert len(receiver.requests) == 1
