import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utc_now_column

STATUSES = ("online", "degraded", "offline", "unknown", "maintenance")
_STATUS_SQL = "('online', 'degraded', 'offline', 'unknown', 'maintenance')"


class CameraHealth(Base):
    """The evaluator's current verdict per camera; written only by the health leader."""

    __tablename__ = "camera_health"
    __table_args__ = (
        CheckConstraint(f"status IN {_STATUS_SQL}", name="status"),
        Index("ix_camera_health_status", "status"),
    )

    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evaluated_at: Mapped[datetime] = utc_now_column()
    flapping: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class StatusEvent(Base):
    """A camera's status transition; the id orders events for `since=` and SSE `Last-Event-ID`."""

    __tablename__ = "status_event"
    __table_args__ = (
        CheckConstraint(f"from_status IS NULL OR from_status IN {_STATUS_SQL}", name="from_status"),
        CheckConstraint(f"to_status IN {_STATUS_SQL}", name="to_status"),
        Index("ix_status_event_camera_id_at", "camera_id", "at"),
        Index("ix_status_event_at", "at"),
        Index("ix_status_event_district_id", "district", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(32))
    ward: Mapped[str | None] = mapped_column(String(32), default=None)
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    incident_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    damped: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
