import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utc_now_column


class CameraChange(Base):
    """Audit trail of cameras and gateways: who (key name), when, request id, and each field from -> to."""

    __tablename__ = "camera_change"
    __table_args__ = (
        CheckConstraint("(camera_id IS NULL) <> (gateway_id IS NULL)", name="one_subject"),
        Index("ix_camera_change_camera_id_id", "camera_id", "id"),
        Index("ix_camera_change_gateway_id_id", "gateway_id", "id"),
        # Retention deletes by age (services/health/retention.py).
        Index("ix_camera_change_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    camera_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gateway.id", ondelete="CASCADE"), default=None
    )
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    at: Mapped[datetime] = utc_now_column()
    # True when an edit came without If-Match: allowed, but an operator reviewing a lost update can see it.
    unconditional: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # {"field": {"from": old, "to": new}}; secrets appear only as "***".
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
