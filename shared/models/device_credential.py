import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utc_now_column


class DeviceCredential(Base):
    """A device token's SHA-256, for exactly one camera or one gateway; revoked tokens are kept for audit."""

    __tablename__ = "device_credential"
    __table_args__ = (
        CheckConstraint("(camera_id IS NULL) <> (gateway_id IS NULL)", name="one_owner"),
        Index("ix_device_credential_camera_id", "camera_id"),
        Index("ix_device_credential_gateway_id", "gateway_id"),
        # At most one live token per device: rotation revokes the old one in the same transaction.
        Index(
            "uq_device_credential_live_camera",
            "camera_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL AND camera_id IS NOT NULL"),
        ),
        Index(
            "uq_device_credential_live_gateway",
            "gateway_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL AND gateway_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    camera_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gateway.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = utc_now_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
