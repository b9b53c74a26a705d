"""Webhook delivery: target validation, HMAC signing, the outbox filled by the evaluator, and the sender.

Deliveries are rows (an outbox written in the evaluator's transaction), so a crash never loses one;
any replica may send them (claimed with FOR UPDATE SKIP LOCKED). Failed attempts back off
exponentially; a webhook failing too many times in a row is disabled.
"""

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.health import metrics
from services.health.schemas import (
    DeliveryRead,
    EventRead,
    IncidentRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from services.health.settings import HealthSettings, get_health_settings
from shared.auth import Principal
from shared.errors import BadRequest, NotFound, ValidationFailed
from shared.models import Incident, StatusEvent, Webhook, WebhookDelivery
from shared.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from services.health.evaluation import PassResult

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Citycam-Signature"
USER_AGENT = "citycam-health-webhooks/1"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _forbidden_address(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_reserved, "reserved"),
    ):
        if flag:
            return f"{address} is a {what} address"
    return None


async def resolve(host: str) -> list[str]:
    """Every address host resolves to (an IP literal resolves to itself)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_target(url: str, *, allow_private: bool) -> None:
    """422 unless url is an http(s) URL whose host resolves only to public addresses (or private ones are allowed)."""

    def bad(msg: str) -> ValidationFailed:
        return ValidationFailed(f"url: {msg}", errors=[{"loc": ["url"], "msg": msg}])

    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise bad("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise bad("the scheme must be http or https")
    if not host:
        raise bad("the URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise bad("credentials in the URL are not allowed; authenticate with the signature")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise bad("the URL contains whitespace or control characters")
    if allow_private:
        return
    try:
        addresses = await resolve(host)
    except (OSError, UnicodeError):
        raise bad(f"the host {host!r} does not resolve") from None
    if not addresses:
        raise bad(f"the host {host!r} does not resolve")
    for address in addresses:
        problem = _forbidden_address(address)
        if problem:
            raise bad(f"{problem}; webhooks may only target public addresses")


def _event_payload(event: StatusEvent) -> dict[str, Any]:
    return {"type": "status", "event": event_read(event).model_dump(mode="json")}


def _incident_payload(kind: str, incident: Incident) -> dict[str, Any]:
    return {"type": kind, "incident": incident_read(incident).model_dump(mode="json")}


def event_read(event: StatusEvent) -> EventRead:
    """A status event as the API, the stream and webhooks show it."""
    return EventRead(
        id=event.id,
        camera_id=event.camera_id,
        code=event.code,
        district=event.district,
        ward=event.ward,
        from_=event.from_status,
        to=event.to_status,
        reason=event.reason,
        at=event.at,
        recorded_at=event.recorded_at,
        incident_id=event.incident_id,
        damped=event.damped,
    )


def incident_read(incident: Incident) -> IncidentRead:
    """An incident as the API and webhooks show it."""
    return IncidentRead.model_validate(incident, from_attributes=True)


async def enqueue_for_pass(session: AsyncSession, result: "PassResult") -> int:
    """Queue one delivery per matching webhook for this pass's transitions and incident changes."""
    hooks = list(
        (await session.execute(select(Webhook).where(Webhook.enabled, Webhook.deleted_at.is_(None)))).scalars()
    )
    if not hooks:
        return 0
    events: Sequence[StatusEvent] = []
    if result.first_event_id is not None and any(h.transitions for h in hooks):
        events = (
            (
                await session.execute(
                    select(StatusEvent)
                    .where(
                        StatusEvent.id.between(result.first_event_id, result.last_event_id),
                        StatusEvent.from_status.is_not(None),
                        StatusEvent.damped.is_(False),
                    )
                    .order_by(StatusEvent.id)
                )
            )
            .scalars()
            .all()
        )
    incident_ids = result.incidents_opened + result.incidents_closed
    incidents: Sequence[Incident] = []
    if incident_ids and any(h.incidents for h in hooks):
        incidents = (await session.execute(select(Incident).where(Incident.id.in_(incident_ids)))).scalars().all()
    rows: list[dict[str, Any]] = []
    for hook in hooks:
        districts = set(hook.districts) if hook.districts else None
        statuses = set(hook.statuses) if hook.statuses else None
        if hook.transitions:
            for event in events:
                if districts is not None and event.district not in districts:
                    continue
                if statuses is not None and event.to_status not in statuses:
                    continue
                if event.incident_id is not None and not hook.incident_members:
                    continue
                rows.append(
                    {
                        "webhook_id": hook.id,
                        "event": "status",
                        "payload": _event_payload(event),
                        "next_attempt_at": result.now,
                        "status_event_id": event.id,
                    }
                )
        if hook.incidents:
            for incident in incidents:
                if districts is not None and incident.district is not None and incident.district not in districts:
                    continue
                kind = "incident.closed" if incident.state == "closed" else "incident.opened"
                rows.append(
                    {
                        "webhook_id": hook.id,
                        "event": kind,
                        "payload": _incident_payload(kind, incident),
                        "next_attempt_at": result.now,
                        "incident_id": incident.id,
                    }
                )
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
    return len(rows)


def backoff_s(attempts: int, settings: HealthSettings) -> float:
    """Seconds before retry number `attempts` (1-based): base x 2^(attempts-1), capped, with +-20% jitter."""
    delay = min(settings.webhook_backoff_max_s, settings.webhook_backoff_s * 2 ** (attempts - 1))
    return delay * random.uniform(0.8, 1.2)


_CLAIM_SQL = """
UPDATE webhook_delivery d
SET attempts = d.attempts + 1, next_attempt_at = clock_timestamp() + :lease * interval '1 second'
FROM webhook w
WHERE d.webhook_id = w.id AND d.id IN (
    SELECT id FROM webhook_delivery
    WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()
    ORDER BY next_attempt_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
RETURNING d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret, w.enabled, w.deleted_at
"""


async def _post(client: httpx.AsyncClient, row: Any, settings: HealthSettings) -> tuple[bool, int | None, str | None]:
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


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    settings: HealthSettings | None = None,
) -> int:
    """Send the deliveries that are due (one claimed batch) and record each outcome; returns how many were tried."""
    settings = settings or get_health_settings()
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text(_CLAIM_SQL), {"lease": settings.webhook_timeout_s * 2 + 5, "batch": settings.webhook_batch}
            )
        ).all()
        await session.commit()
    if not rows:
        return 0
    live = [r for r in rows if r.enabled and r.deleted_at is None]
    outcomes = await asyncio.gather(*(_post(client, r, settings) for r in live))
    async with sessionmaker() as session:
        for r in rows:
            if not (r.enabled and r.deleted_at is None):
                await session.execute(
                    text("UPDATE webhook_delivery SET state = 'cancelled', last_error = :why WHERE id = :id"),
                    {"id": r.id, "why": "webhook disabled or deleted"},
                )
        for r, (ok, code, error) in zip(live, outcomes, strict=True):
            metrics.WEBHOOK_ATTEMPTS.labels("delivered" if ok else "failed").inc()
            await _record(session, r, ok, code, error, settings)
        await session.commit()
    return len(rows)


async def _record(
    session: AsyncSession, row: Any, ok: bool, code: int | None, error: str | None, settings: HealthSettings
) -> None:
    if ok:
        await session.execute(
            text(
                "UPDATE webhook_delivery SET state = 'delivered', delivered_at = clock_timestamp(),"
                " last_status_code = :code, last_error = NULL WHERE id = :id"
            ),
            {"id": row.id, "code": code},
        )
        await session.execute(
            text("UPDATE webhook SET consecutive_failures = 0, last_success_at = clock_timestamp() WHERE id = :id"),
            {"id": row.webhook_id},
        )
        return
    final = row.attempts >= settings.webhook_max_attempts
    await session.execute(
        text(
            """
            UPDATE webhook_delivery SET state = CASE WHEN :final THEN 'failed' ELSE 'pending' END,
                last_status_code = :code, last_error = :error,
                next_attempt_at = clock_timestamp() + :delay * interval '1 second'
            WHERE id = :id
            """
        ),
        {"id": row.id, "code": code, "error": error, "final": final, "delay": backoff_s(row.attempts, settings)},
    )
    failures = (
        await session.execute(
            text(
                "UPDATE webhook SET consecutive_failures = consecutive_failures + 1,"
                " last_failure_at = clock_timestamp() WHERE id = :id RETURNING consecutive_failures"
            ),
            {"id": row.webhook_id},
        )
    ).scalar_one()
    log.info("webhook delivery failed", extra={"event": "webhook_failed", "delivery": row.id, "error": error})
    if failures >= settings.webhook_disable_after:
        await disable(session, row.webhook_id, f"disabled after {failures} consecutive failed deliveries")


async def disable(session: AsyncSession, webhook_id: uuid.UUID, reason: str) -> None:
    """Turn a webhook off and cancel what it still had queued."""
    await session.execute(
        text("UPDATE webhook SET enabled = false, disabled_reason = :why WHERE id = :id AND enabled"),
        {"id": webhook_id, "why": reason},
    )
    await session.execute(
        text(
            "UPDATE webhook_delivery SET state = 'cancelled', last_error = :why"
            " WHERE webhook_id = :id AND state = 'pending'"
        ),
        {"id": webhook_id, "why": reason},
    )
    log.warning("webhook disabled", extra={"event": "webhook_disabled", "webhook": str(webhook_id)})


class Dispatcher:
    """Sends due webhook deliveries every few moments until stopped."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: HealthSettings | None = None):
        self.sessionmaker = sessionmaker
        self.settings = settings or get_health_settings()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Loop until stop(): deliver, and sleep when nothing was due."""
        timeout = httpx.Timeout(self.settings.webhook_timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    sent = await deliver_due(self.sessionmaker, client, self.settings)
                except Exception:
                    log.exception("webhook dispatch failed")
                    sent = 0
                if sent:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.webhook_poll_s)

    def stop(self) -> None:
        """Ask the loop to end after its current batch."""
        self._stop.set()


def webhook_read(hook: Webhook) -> WebhookRead:
    """A webhook as the API returns it (never its secret)."""
    return WebhookRead.model_validate(hook, from_attributes=True)


async def create_webhook(session: AsyncSession, *, data: WebhookCreate, principal: Principal) -> WebhookCreated:
    """Validate the target and store a subscription; the signing secret is in the reply only."""
    settings = get_health_settings()
    await check_target(data.url, allow_private=settings.webhook_allow_private)
    if data.districts:
        known = set(
            (await session.execute(text("SELECT code FROM area WHERE code = ANY(:c)"), {"c": data.districts})).scalars()
        )
        unknown = [d for d in data.districts if d not in known]
        if unknown:
            raise ValidationFailed(
                f"unknown district {unknown[0]!r}", errors=[{"loc": ["districts"], "msg": f"unknown: {unknown}"}]
            )
    if not (data.transitions or data.incidents):
        raise ValidationFailed(
            "a webhook must receive transitions, incidents or both",
            errors=[{"loc": ["transitions"], "msg": "transitions and incidents cannot both be false"}],
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        name=data.name,
        url=data.url,
        secret=secret,
        districts=sorted(set(data.districts)) if data.districts else None,
        statuses=sorted(set(data.statuses)) if data.statuses else None,
        transitions=data.transitions,
        incidents=data.incidents,
        incident_members=data.incident_members,
        created_by=principal.name,
    )
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    return WebhookCreated(**webhook_read(hook).model_dump(), secret=secret)


async def get_webhook(session: AsyncSession, *, webhook_id: uuid.UUID) -> Webhook:
    """One (not deleted) webhook; 404 otherwise."""
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.deleted_at is not None:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


async def list_webhooks(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[WebhookRead], str | None]:
    """Webhooks, oldest first."""
    position = decode_cursor(cursor, keys=("created_at", "id"))
    stmt = select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(Webhook.created_at, Webhook.id).limit(limit + 1)
    if position is not None:
        try:
            after = (datetime.fromisoformat(str(position["created_at"])), uuid.UUID(str(position["id"])))
        except ValueError:
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
        stmt = stmt.where(tuple_(Webhook.created_at, Webhook.id) > tuple_(*after))
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"created_at": last.created_at.isoformat(), "id": str(last.id)})
    return [webhook_read(r) for r in rows[:limit]], next_cursor


async def delete_webhook(session: AsyncSession, *, webhook_id: uuid.UUID) -> None:
    """Stop a webhook for good (its delivery log is kept) and cancel what it had queued."""
    hook = await get_webhook(session, webhook_id=webhook_id)
    hook.deleted_at = datetime.now(UTC)
    hook.enabled = False
    await session.flush()
    await disable(session, webhook_id, "deleted")


async def enable_webhook(session: AsyncSession, *, webhook_id: uuid.UUID) -> WebhookRead:
    """Turn a disabled webhook back on (failure count reset); the target is validated again."""
    hook = await get_webhook(session, webhook_id=webhook_id)
    await check_target(hook.url, allow_private=get_health_settings().webhook_allow_private)
    hook.enabled, hook.disabled_reason, hook.consecutive_failures = True, None, 0
    await session.flush()
    await session.refresh(hook)
    return webhook_read(hook)


async def list_deliveries(
    session: AsyncSession, *, webhook_id: uuid.UUID, state: str | None, limit: int, cursor: str | None
) -> tuple[list[DeliveryRead], str | None]:
    """A webhook's delivery log, newest first."""
    await get_webhook(session, webhook_id=webhook_id)
    position = decode_cursor(cursor, keys=("id",))
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if state is not None:
        stmt = stmt.where(WebhookDelivery.state == state)
    if position is not None:
        try:
            stmt = stmt.where(WebhookDelivery.id < int(position["id"]))
        except (TypeError, ValueError):
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return [DeliveryRead.model_validate(r, from_attributes=True) for r in rows[:limit]], next_cursor
