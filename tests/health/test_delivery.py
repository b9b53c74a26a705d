"""Delivery: the signature, and single POSTs against real loopback receivers."""

import hashlib
import hmac
import ipaddress
import uuid

from services.health import delivery, targets
from services.health.settings import HealthSettings
from tests.health.hooks import Receiver, endless_body, raw_server, slowloris
from tests.health.live import serve
from tests.helpers import free_port


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"type":"status"}'
    header = delivery.sign("whsec_test", body, 1700000000)
    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def _claimed(url: str) -> delivery.Claimed:
    return delivery.Claimed(
        id=1, webhook_id=uuid.uuid4(), event="status", payload={"type": "status"}, attempts=1, url=url, secret="whsec_t"
    )


async def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline() -> None:
    # One byte every 4 s never trips a per-read limit of 5 s; the deadline is for the whole attempt.
    s = HealthSettings(webhook_allow_private=True, webhook_timeout_s=5)
    async with raw_server(slowloris(every_s=4)) as port, delivery.make_client(s) as client:
        outcome = await delivery.post(client, _claimed(f"http://127.0.0.1:{port}/hook"), s)
    assert (outcome.ok, outcome.status_code) == (False, None)
    assert outcome.error == "no complete answer within 5 s"


async def test_the_reply_body_is_never_read() -> None:
    s = HealthSettings(webhook_allow_private=True, webhook_timeout_s=5)
    async with raw_server(endless_body) as port, delivery.make_client(s) as client:
        outcome = await delivery.post(client, _claimed(f"http://127.0.0.1:{port}/hook"), s)
    assert (outcome.ok, outcome.status_code, outcome.error) == (True, 200, None)


async def _post_by_name_resolving_to_loopback(monkeypatch, *, allow_private: bool):
    """POST to http://hooks.example:<port>/hook, a name only the check resolves (to 127.0.0.1, where a
    receiver listens); the outcome, the receiver and its port."""

    async def resolve(host: str, *, timeout_s: float) -> list[ipaddress.IPv4Address]:
        assert host == "hooks.example"
        return [ipaddress.IPv4Address("127.0.0.1")]

    monkeypatch.setattr(targets, "resolve", resolve)
    receiver, port = Receiver(), free_port()
    s = HealthSettings(webhook_allow_private=allow_private)
    async with serve(receiver.app, port), delivery.make_client(s) as client:
        outcome = await delivery.post(client, _claimed(f"http://hooks.example:{port}/hook"), s)
    return outcome, receiver, port


async def test_the_connection_goes_to_the_address_the_check_resolved(monkeypatch) -> None:
    # hooks.example resolves nowhere but in the check: only a connection to the checked address arrives.
    outcome, receiver, port = await _post_by_name_resolving_to_loopback(monkeypatch, allow_private=True)
    assert outcome.ok
    assert receiver.requests[0][0]["host"] == f"hooks.example:{port}"


async def test_a_name_rebound_to_a_private_address_is_refused_before_connecting(monkeypatch) -> None:
    outcome, receiver, _port = await _post_by_name_resolving_to_loopback(monkeypatch, allow_private=False)
    assert not outcome.ok
    assert "127.0.0.1 is a loopback address" in (outcome.error or "")
    assert receiver.requests == []
