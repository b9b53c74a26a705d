"""Sending one webhook delivery: the signed POST and its outcome."""

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from services.health.settings import HealthSettings
from services.health.targets import check_target
from shared.errors import ValidationFailed

SIGNATURE_HEADER = "X-Citycam-Signature"
USER_AGENT = "citycam-health-webhooks/1"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


async def post(client: httpx.AsyncClient, row: Any, settings: HealthSettings) -> tuple[bool, int | None, str | None]:
    if not settings.webhook_allow_private:
        try:
            await check_target(row.url, allow_private=False)
        except ValidationFailed as exc:
            return False, None, exc.detail
    body = json.dumps({**row.payload, "delivery_id": row.id}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(row.secret, body, int(time.time())),
        "X-Citycam-Event": row.event,
        "X-Citycam-Delivery": str(row.id),
    }
    try:
        response = await client.post(row.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return False, None, f"{type(exc).__name__}: {str(exc)[:200]}"
    except Exception as exc:  # a broken target must never stall the queue for the others
        return False, None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return True, response.status_code, None
    return False, response.status_code, f"HTTP {response.status_code}"
