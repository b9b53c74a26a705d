import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base

# Daily partitions of heartbeat are named heartbeat_pYYYYMMDD (plus heartbeat_default);
# they are created and dropped by the ingest retention job, not by migrations.
HEARTBEAT_PARTITION_PREFIX = "heartbeat_p"


class CameraState(Base):
    """The newest heartbeat per camera; ingest upserts it monotonically on received_at."""

    __tablename__ = "camera_state"
    __table_args__ = (Index("ix_camera_state_received_at", "received_at"),)

    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    uptime_s: Mapped[int | None] = mapped_column(BigInteger, default=None)
    fps: Mapped[float | None] = mapped_column(Float, default=None)
    bitrate_kbps: Mapped[float | None] = mapped_column(Float, default=None)
    packet_loss_pct: Mapped[float | None] = mapped_column(Float, default=None)
    temperature_c: Mapped[float | None] = mapped_column(Float, default=None)
    storage_free_pct: Mapped[float | None] = mapped_column(Float, default=None)
    firmware: Mapped[str | None] = mapped_column(String(100), default=None)
    errors: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    heartbeat_count: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class Heartbeat(Base):
    """Heartbeat history, range-partitioned by day on received_at."""

    __tablename__ = "heartbeat"
    # The primary key (camera_id, received_at) also serves per-camera history reads.
    __table_args__ = ({"postgresql_partition_by": "RANGE (received_at)"},)

    # A partitioned table's primary key must contain the partition key; duplicates are harmless history.
    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    uptime_s: Mapped[int | None] = mapped_column(BigInteger, default=None)
    fps: Mapped[float | None] = mapped_column(Float, default=None)
    bitrate_kbps: Mapped[float | None] = mapped_column(Float, default=None)
    packet_loss_pct: Mapped[float | None] = mapped_column(Float, default=None)
    temperature_c: Mapped[float | None] = mapped_column(Float, default=None)
    storage_free_pct: Mapped[float | None] = mapped_column(Float, default=None)
    firmware: Mapped[str | None] = mapped_column(String(100), default=None)
    errors: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
