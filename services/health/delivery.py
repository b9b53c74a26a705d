"""Sending one webhook delivery: the signed POST to the checked address, under one deadline.

The deadline (CITYCAM_HEALTH_WEBHOOK_TIMEOUT_S) covers the whole attempt: the address check and its
DNS lookup, the connection, the request and the reply's status line and headers. A receiver that
trickles its answer a byte at a time cannot hold an attempt longer. The reply's body is never read:
the status code is the outcome, and the connection is closed after the headers.
"""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from services.health.settings import HealthSettings
from services.health.targets import check_target
from shared.errors import ValidationFailed

SIGNATURE_HEADER = "X-Citycam-Signature"
USER_AGENT = "citycam-health-webhooks/1"


@dataclass(frozen=True)
class Claimed:
    """A delivery taken from the outbox for one attempt, with what it needs to be sent."""

    id: int
    webhook_id: uuid.UUID
    event: str
    payload: dict[str, Any]
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended."""

    ok: bool
    status_code: int | None
    error: str | None


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def make_client(settings: HealthSettings) -> httpx.AsyncClient:
    """The sender's client: no redirects, no proxies from the environment, and no kept-alive connections,
    since a pooled connection to a pinned address could be reused for another host's name. Its per-read
    limit is only a backstop: `post` holds the whole attempt to the deadline."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=httpx.Timeout(settings.webhook_timeout_s),
    )


async def _attempt(client: httpx.AsyncClient, row: Claimed, settings: HealthSettings) -> Outcome:
    try:
        target = await check_target(
            row.url, allow_private=settings.webhook_allow_private, dns_timeout_s=settings.webhook_dns_timeout_s
        )
    except ValidationFailed as exc:
        return Outcome(False, None, exc.detail)
    body = json.dumps({**row.payload, "delivery_id": row.id}, separators=(",", ":")).encode()
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(row.secret, body, int(time.time())),
        "X-Citycam-Event": row.event,
        "X-Citycam-Delivery": str(row.id),
    }
    # TLS is checked against the name (SNI and certificate), while the socket goes to the checked address.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request("POST", target.pinned_url, content=body, headers=headers, extensions=extensions)
    response = await client.send(request, stream=True)
    await response.aclose()
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, None)
    return Outcome(False, response.status_code, f"HTTP {response.status_code}")


async def post(client: httpx.AsyncClient, row: Claimed, settings: HealthSettings) -> Outcome:
    """One attempt at a delivery, never longer than the deadline; a broken target is an outcome, not an error."""
    try:
        async with asyncio.timeout(settings.webhook_timeout_s):
            return await _attempt(client, row, settings)
    except TimeoutError:
        return Outcome(False, None, f"no complete answer within {settings.webhook_timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {str(exc)[:200]}")
    except Exception as exc:  # a broken target must never stall the queue for the others
        return Outcome(False, None, type(exc).__name__)
