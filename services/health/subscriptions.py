"""Webhook subscriptions: create, read, list, delete and re-enable, and each webhook's delivery log."""

import logging
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.schemas import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead
from services.health.settings import get_health_settings
from services.health.targets import check_target
from shared.auth import Principal
from shared.errors import BadRequest, NotFound, ValidationFailed
from shared.models import Webhook, WebhookDelivery
from shared.pagination import decode_cursor, encode_cursor

log = logging.getLogger(__name__)


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
