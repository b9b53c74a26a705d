"""Webhook subscriptions: create, read, list, disable, enable and delete, each webhook's delivery log and
its audit trail.

A webhook belongs to the key that created it: an operator sees and changes only its own (another key's
is a 404, as if it did not exist); an admin sees and changes all. Reads never show the secret, and show
the URL's path and query masked (a Slack or Teams URL is itself a secret). Every change is audited in
webhook_change with the key, its name and the request id.
"""

import logging
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import refs
from services.health.schemas import DeliveryRead, WebhookChangeRead, WebhookCreate, WebhookCreated, WebhookRead
from services.health.settings import get_health_settings
from services.health.targets import check_target, masked
from shared.auth import Principal
from shared.errors import BadRequest, NotFound, ValidationFailed
from shared.logs import request_id_var
from shared.models import DeliveryState, Webhook, WebhookChange, WebhookDelivery
from shared.pagination import decode_cursor, encode_cursor

log = logging.getLogger(__name__)


def webhook_read(hook: Webhook) -> WebhookRead:
    """A webhook as the API returns it: never its secret, its URL masked."""
    read = WebhookRead.model_validate(hook, from_attributes=True)
    return read.model_copy(update={"url": masked(hook.url)})


def _visible(stmt: Select[Webhook], principal: Principal) -> Select[Webhook]:
    if principal.role == "admin":
        return stmt
    return stmt.where(Webhook.owner_key_id == principal.key_id)


async def audit(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    action: str,
    *,
    actor: str,
    api_key_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append one row to the webhook's audit trail (never the secret; the URL masked)."""
    session.add(
        WebhookChange(
            webhook_id=webhook_id,
            action=action,
            actor=actor,
            api_key_id=api_key_id,
            request_id=request_id_var.get(),
            changes=changes or {},
        )
    )
    await session.flush()


async def disable(
    session: AsyncSession, webhook_id: uuid.UUID, *, reason: str, actor: str, api_key_id: uuid.UUID | None
) -> None:
    """Turn a webhook off; what it had queued is kept, and sent once it is enabled again."""
    turned_off = await session.execute(
        text("UPDATE webhook SET enabled = false, disabled_reason = :why WHERE id = :id AND enabled RETURNING id"),
        {"id": webhook_id, "why": reason},
    )
    if turned_off.first() is None:
        return
    await audit(session, webhook_id, "disabled", actor=actor, api_key_id=api_key_id, changes={"reason": reason})
    log.warning("webhook disabled", extra={"event": "webhook_disabled", "webhook": str(webhook_id)})


async def create_webhook(session: AsyncSession, *, data: WebhookCreate, principal: Principal) -> WebhookCreated:
    """Validate the target and store a subscription owned by the calling key; the secret is in the reply only."""
    settings = get_health_settings()
    await check_target(
        data.url, allow_private=settings.webhook_allow_private, dns_timeout_s=settings.webhook_dns_timeout_s
    )
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
        owner_key_id=principal.key_id,
    )
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    read = webhook_read(hook)
    shown = read.model_dump(include={"name", "url", "districts", "statuses", "transitions", "incidents"})
    await audit(session, hook.id, "created", actor=principal.name, api_key_id=principal.key_id, changes=shown)
    return WebhookCreated(**read.model_dump(), secret=secret)


async def get_webhook(session: AsyncSession, *, webhook_id: uuid.UUID, principal: Principal) -> Webhook:
    """One (not deleted) webhook the caller may see; 404 otherwise."""
    hook = await session.scalar(
        _visible(select(Webhook).where(Webhook.id == webhook_id, Webhook.deleted_at.is_(None)), principal)
    )
    if hook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


async def list_webhooks(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[WebhookRead], str | None]:
    """The webhooks the caller may see, oldest first."""
    position = decode_cursor(cursor, keys=("created_at", "id"))
    stmt = select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(Webhook.created_at, Webhook.id).limit(limit + 1)
    stmt = _visible(stmt, principal)
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


async def delete_webhook(session: AsyncSession, *, webhook_id: uuid.UUID, principal: Principal) -> None:
    """Stop a webhook for good (its delivery log is kept) and cancel what it had queued."""
    hook = await get_webhook(session, webhook_id=webhook_id, principal=principal)
    hook.deleted_at = datetime.now(UTC)
    hook.enabled = False
    await session.flush()
    await session.execute(
        text(
            "UPDATE webhook_delivery SET state = 'cancelled', last_error = 'webhook deleted'"
            " WHERE webhook_id = :id AND state = 'pending'"
        ),
        {"id": webhook_id},
    )
    await audit(session, webhook_id, "deleted", actor=principal.name, api_key_id=principal.key_id)


async def disable_webhook(session: AsyncSession, *, webhook_id: uuid.UUID, principal: Principal) -> WebhookRead:
    """Pause a webhook by hand; its queued deliveries wait for it to be enabled."""
    hook = await get_webhook(session, webhook_id=webhook_id, principal=principal)
    await disable(
        session, webhook_id, reason=f"disabled by {principal.name}", actor=principal.name, api_key_id=principal.key_id
    )
    await session.refresh(hook)
    return webhook_read(hook)


async def enable_webhook(session: AsyncSession, *, webhook_id: uuid.UUID, principal: Principal) -> WebhookRead:
    """Turn a disabled webhook back on (failures reset, target checked again); what it had queued is due now."""
    hook = await get_webhook(session, webhook_id=webhook_id, principal=principal)
    settings = get_health_settings()
    await check_target(
        hook.url, allow_private=settings.webhook_allow_private, dns_timeout_s=settings.webhook_dns_timeout_s
    )
    was_enabled = hook.enabled
    hook.enabled, hook.disabled_reason, hook.consecutive_failures, hook.failing_since = True, None, 0, None
    await session.flush()
    await session.execute(
        text(
            "UPDATE webhook_delivery SET next_attempt_at = clock_timestamp()"
            " WHERE webhook_id = :id AND state = 'pending' AND next_attempt_at > clock_timestamp()"
        ),
        {"id": webhook_id},
    )
    if not was_enabled:
        await audit(session, webhook_id, "enabled", actor=principal.name, api_key_id=principal.key_id)
    await session.refresh(hook)
    return webhook_read(hook)


async def list_deliveries(
    session: AsyncSession,
    *,
    webhook_id: uuid.UUID,
    principal: Principal,
    state: DeliveryState | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryRead], str | None]:
    """A webhook's delivery log, newest first."""
    await get_webhook(session, webhook_id=webhook_id, principal=principal)
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if state is not None:
        stmt = stmt.where(WebhookDelivery.state == state)
    rows, next_cursor = await refs.newest_first(session, stmt, WebhookDelivery.id, cursor=cursor, limit=limit)
    return [DeliveryRead.model_validate(r, from_attributes=True) for r in rows], next_cursor


async def list_changes(
    session: AsyncSession, *, webhook_id: uuid.UUID, principal: Principal, limit: int
) -> list[WebhookChangeRead]:
    """A webhook's audit trail, newest first."""
    await get_webhook(session, webhook_id=webhook_id, principal=principal)
    stmt = (
        select(WebhookChange)
        .where(WebhookChange.webhook_id == webhook_id)
        .order_by(WebhookChange.id.desc())
        .limit(limit)
    )
    return [WebhookChangeRead.model_validate(r, from_attributes=True) for r in (await session.execute(stmt)).scalars()]
