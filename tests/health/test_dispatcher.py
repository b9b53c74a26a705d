"""The sender: retries with back-off, disabling, and the background loop, against a loopback receiver."""

import asyncio
import hashlib
import hmac
import json

import pytest
from sqlalchemy import text

from services.health import dispatcher
from services.health.settings import HealthSettings
from tests.health.hooks import camera_goes_offline, deliver_until, subscribe


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_backoff_is_exponential_capped_and_jittered(attempt) -> None:
    s = HealthSettings(webhook_backoff_s=2, webhook_backoff_max_s=60)
    nominal = min(60, 2 * 2 ** (attempt - 1))
    for _ in range(20):
        assert 0.8 * nominal <= dispatcher.backoff_s(attempt, s) <= 1.2 * nominal


async def test_a_transition_is_posted_signed(world) -> None:
    _engine, sessionmaker, receiver, url = world
    s = HealthSettings(webhook_allow_private=True)
    _hook_id, secret = await subscribe(sessionmaker, url)
    await camera_goes_offline(sessionmaker, s)

    async def done():
        return len(receiver.requests) >= 1

    assert await deliver_until(sessionmaker, s, done)
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
    await subscribe(sessionmaker, url)
    await camera_goes_offline(sessionmaker, s)

    async def done():
        async with sessionmaker() as session:
            row = (await session.execute(text("SELECT state, attempts FROM webhook_delivery"))).one()
        return row.state == "delivered" and row

    assert await deliver_until(sessionmaker, s, done)
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
    await subscribe(sessionmaker, url)
    await camera_goes_offline(sessionmaker, s)

    async def done():
        async with sessionmaker() as session:
            return not (await session.execute(text("SELECT enabled FROM webhook"))).scalar_one()

    assert await deliver_until(sessionmaker, s, done)
    async with sessionmaker() as session:
        hook = (await session.execute(text("SELECT disabled_reason FROM webhook"))).one()
        states = set((await session.execute(text("SELECT state FROM webhook_delivery"))).scalars())
    assert "3 consecutive" in hook.disabled_reason
    assert states == {"cancelled"}
    assert len(receiver.requests) == 3


async def test_the_dispatcher_loop_delivers_in_the_background(world) -> None:
    _engine, sessionmaker, receiver, url = world
    s = HealthSettings(webhook_allow_private=True, webhook_poll_s=0.05)
    await subscribe(sessionmaker, url)
    sender = dispatcher.Dispatcher(sessionmaker, s)
    task = asyncio.create_task(sender.run())
    try:
        await camera_goes_offline(sessionmaker, s)
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await asyncio.wait_for(task, 5)
    assert len(receiver.requests) == 1
