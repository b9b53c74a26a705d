import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of, utc_now_column

# A delivery's state: the API's enum and the CHECK below derive from it.
DeliveryState = Literal["pending", "delivered", "failed", "cancelled"]
DELIVERY_STATES: tuple[str, ...] = get_args(DeliveryState)


class Webhook(Base):
    """A subscription: status transitions and/or incidents POSTed to url, signed with HMAC-SHA256.

    The signing secret has to be kept usable to sign with, so it is stored as issued; it is returned
    only once, at creation, and never logged.
    """

    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_owner_key_id", "owner_key_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    # NULL = every district / every status.
    districts: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)), default=None)
    statuses: Mapped[list[str] | None] = mapped_column(ARRAY(String(16)), default=None)
    transitions: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    incidents: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Deliver transitions that belong to an incident one by one as well (default: the incident stands for them).
    incident_members: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(200))
    # The key that created it: an operator manages only its own webhooks (NULL: admins only).
    owner_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = utc_now_column()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The first failed attempt since the last success: failures are counted over time, not per attempt.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class WebhookDelivery(Base):
    """One message to one webhook and every attempt's outcome: the delivery log and the retry queue."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint(one_of("state", DELIVERY_STATES), name="state"),
        Index("ix_webhook_delivery_webhook_id_id", "webhook_id", "id"),
        Index("ix_webhook_delivery_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        # The sender claims per webhook; retention deletes by age.
        Index(
            "ix_webhook_delivery_pending_webhook",
            "webhook_id",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_delivery_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook.id", ondelete="CASCADE"))
    # 'status' (a transition) or 'incident.opened' / 'incident.closed'.
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = utc_now_column()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    status_event_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    incident_id: Mapped[int | None] = mapped_column(BigInteger, default=None)


class WebhookChange(Base):
    """Audit trail of webhooks: who (key name and id), when, request id, what (the URL masked, never the secret)."""

    __tablename__ = "webhook_change"
    __table_args__ = (
        Index("ix_webhook_change_webhook_id_id", "webhook_id", "id"),
        Index("ix_webhook_change_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook.id", ondelete="CASCADE"))
    # created, disabled, enabled, deleted.
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    at: Mapped[datetime] = utc_now_column()
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
