"""The sender: retries with back-off, disabling, and the background loop, against a loopback receiver."""

import asyncio
import hashlib
import hmac
import json
import uuid

import pytest
from sqlalchemy import text

from services.health import delivery, dispatcher, subscriptions
from services.health.settings import HealthSettings
from shared.auth import Principal
from tests.health.hooks import camera_goes_offline, deliver_until, raw_server, slowloris, subscribe


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


async def _failing(world, *, failures: int, disable_after_s: float) -> tuple[uuid.UUID, HealthSettings]:
    """A webhook whose receiver fails its first `failures` requests, with one transition queued for it."""
    _engine, sessionmaker, receiver, url = world
    receiver.fail_first = failures
    s = HealthSettings(
        webhook_allow_private=True,
        webhook_backoff_s=0.05,
        webhook_max_attempts=10,
        webhook_disable_after=3,
        webhook_disable_after_s=disable_after_s,
    )
    hook_id, _secret = await subscribe(sessionmaker, url)
    await camera_goes_offline(sessionmaker, s)
    return hook_id, s


async def test_a_webhook_failing_again_and_again_is_disabled(world) -> None:
    _engine, sessionmaker, receiver, _url = world
    _hook, s = await _failing(world, failures=1000, disable_after_s=0)

    async def done():
        async with sessionmaker() as session:
            return not (await session.execute(text("SELECT enabled FROM webhook"))).scalar_one()

    assert await deliver_until(sessionmaker, s, done)
    async with sessionmaker() as session:
        hook = (await session.execute(text("SELECT disabled_reason FROM webhook"))).one()
        states = set((await session.execute(text("SELECT state FROM webhook_delivery"))).scalars())
    assert "3 consecutive" in hook.disabled_reason
    # Issue 12 item 8: what it had queued is kept for when it is enabled again (was: cancelled).
    assert states == {"pending"}
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


async def test_a_burst_of_fast_failures_does_not_disable_a_webhook(world) -> None:
    # A receiver restarting fails fast again and again; failures count over time, not per attempt.
    _engine, sessionmaker, receiver, _url = world
    _hook, s = await _failing(world, failures=1000, disable_after_s=3600)

    async def done():
        return len(receiver.requests) >= 6

    assert await deliver_until(sessionmaker, s, done)
    async with sessionmaker() as session:
        hook = (await session.execute(text("SELECT enabled, consecutive_failures, failing_since FROM webhook"))).one()
    assert (hook.enabled, hook.consecutive_failures >= 6, hook.failing_since is not None) == (True, True, True)


async def test_enabling_resumes_what_was_queued_while_disabled(world) -> None:
    _engine, sessionmaker, receiver, _url = world
    hook_id, s = await _failing(world, failures=3, disable_after_s=0)

    async def disabled():
        async with sessionmaker() as session:
            return not (await session.execute(text("SELECT enabled FROM webhook"))).scalar_one()

    assert await deliver_until(sessionmaker, s, disabled)
    # Nothing is sent while it is off, and nothing is lost.
    async with delivery.make_client(s) as client:
        assert await dispatcher.deliver_due(sessionmaker, client, s) == 0
    admin = Principal(key_id=uuid.uuid4(), name="admin", role="admin", districts=None)
    async with sessionmaker() as session:
        await subscriptions.enable_webhook(session, webhook_id=hook_id, principal=admin)
        await session.commit()

    async def delivered():
        async with sessionmaker() as session:
            return (await session.execute(text("SELECT state FROM webhook_delivery"))).scalar_one() == "delivered"

    assert await deliver_until(sessionmaker, s, delivered)
    assert len(receiver.requests) == 4


async def _queue(sessionmaker, hook_id: uuid.UUID, n: int) -> None:
    async with sessionmaker() as session:
        for _ in range(n):
            await session.execute(
                text(
                    "INSERT INTO webhook_delivery (webhook_id, event, payload, next_attempt_at)"
                    " VALUES (:hook, 'status', CAST('{\"type\": \"status\"}' AS jsonb), clock_timestamp())"
                ),
                {"hook": hook_id},
            )
        await session.commit()


async def test_a_slowloris_receiver_does_not_hold_up_other_webhooks(world) -> None:
    _engine, sessionmaker, receiver, url = world
    s = HealthSettings(webhook_allow_private=True, webhook_poll_s=0.05, webhook_timeout_s=6)
    async with raw_server(slowloris(every_s=4)) as port:
        slow, _ = await subscribe(sessionmaker, f"http://127.0.0.1:{port}/hook")
        fast, _ = await subscribe(sessionmaker, url)
        await _queue(sessionmaker, slow, 3)
        await _queue(sessionmaker, fast, 3)
        sender = dispatcher.Dispatcher(sessionmaker, s)
        task = asyncio.create_task(sender.run())
        try:
            for _ in range(100):
                if len(receiver.requests) >= 3:
                    break
                await asyncio.sleep(0.05)
            async with sessionmaker() as session:
                slow_states = (
                    await session.execute(
                        text("SELECT state, last_error FROM webhook_delivery WHERE webhook_id = :id"), {"id": slow}
                    )
                ).all()
            in_flight = dict(sender.in_flight)
        finally:
            sender.stop()
            await asyncio.wait_for(task, 20)
    # The three for the healthy receiver arrived while the slow one's were still waiting for an answer,
    # and the slow one never had more than its share of attempts in flight.
    assert len(receiver.requests) == 3
    assert {(r.state, r.last_error) for r in slow_states} == {("pending", None)}
    assert in_flight.get(slow) == s.webhook_per_hook_concurrency
