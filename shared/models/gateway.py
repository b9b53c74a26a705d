import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of, utc_now_column
from shared.models.camera import LIFECYCLES

# A gateway is an NVR or gateway forwarding its cameras' heartbeats, or a probe agent checking them
# (services/probe). The API's enum and the CHECK derive from this Literal.
GatewayKind = Literal["gateway", "probe"]
GATEWAY_KINDS: tuple[str, ...] = get_args(GatewayKind)


class Gateway(Base):
    """An NVR or gateway that reports heartbeats for the cameras behind it."""

    __tablename__ = "gateway"
    __table_args__ = (
        CheckConstraint(one_of("lifecycle", LIFECYCLES), name="lifecycle"),
        CheckConstraint("heartbeat_interval_s BETWEEN 5 AND 3600", name="heartbeat_interval_s"),
        CheckConstraint(one_of("kind", GATEWAY_KINDS), name="kind"),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude"),
        Index("ix_gateway_district", "district"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(32), ForeignKey("area.code", ondelete="RESTRICT"))
    ward: Mapped[str | None] = mapped_column(String(32), ForeignKey("area.code", ondelete="RESTRICT"), default=None)
    address: Mapped[str | None] = mapped_column(Text, default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    vendor: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    firmware: Mapped[str | None] = mapped_column(String(100), default=None)
    ip: Mapped[str | None] = mapped_column(INET, default=None)
    owner: Mapped[str | None] = mapped_column(String(200), default=None)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    lifecycle: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    heartbeat_interval_s: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    kind: Mapped[str] = mapped_column(String(16), default="gateway", server_default="gateway")
    created_at: Mapped[datetime] = utc_now_column()
    updated_at: Mapped[datetime] = utc_now_column()
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class GatewayState(Base):
    """The gateway's own liveness, kept apart from its cameras' so a live NVR never keeps a dead camera alive."""

    __tablename__ = "gateway_state"

    gateway_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("gateway.id", ondelete="CASCADE"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    cameras_reported: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
