"""Heartbeats: what a device reports (HeartbeatMetrics, defined once), its history and each camera's newest.

HeartbeatMetrics is the one list of heartbeat metrics. From it come the metric columns of `heartbeat`
and `camera_state` (below), ingest's validation (its HeartbeatIn extends it), its row, its SQL and the
bench loader's columns. Adding a metric is one field here plus a migration adding the two columns
(tests/ingest/test_heartbeat_metrics.py checks that every list made from it agrees).
"""

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
import msgspec.inspect
from msgspec import Meta
from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from shared.models.base import Base

# Daily partitions of heartbeat are named heartbeat_pYYYYMMDD (plus heartbeat_default);
# they are created and dropped by the ingest retention job, not by migrations.
HEARTBEAT_PARTITION_PREFIX = "heartbeat_p"

# Printable ASCII only: firmware strings and error codes end up in logs, dashboards and CSV exports.
_PRINTABLE = r"^[\x20-\x7e]+$"
_CODE = r"^[A-Za-z0-9_.:\-/]+$"
INT8_MAX = 2**63 - 1

Percent = Annotated[float, Meta(ge=0, le=100)]
Kbps = Annotated[float, Meta(ge=0, le=10_000_000, description="Bitrate of the main stream in kbit/s")]
ErrorCode = Annotated[str, Meta(min_length=1, max_length=64, pattern=_CODE)]


class HeartbeatMetrics(msgspec.Struct, kw_only=True):
    """What a device reports about itself, every field optional: names, types, bounds and API docs.

    Each field's type also decides its column: an integer is a bigint (its bound must fit one), a
    float a double, a string a varchar of its max_length, a list of strings an array of them."""

    uptime_s: Annotated[int, Meta(ge=0, le=10_000_000_000, description="Seconds since the device booted")] | None = None
    fps: Annotated[float, Meta(ge=0, le=1000, description="Frames per second of the main stream")] | None = None
    bitrate_kbps: Kbps | None = None
    packet_loss_pct: Annotated[Percent, Meta(description="Packet loss in %")] | None = None
    temperature_c: Annotated[float, Meta(ge=-80, le=200, description="Device temperature in °C")] | None = None
    storage_free_pct: Annotated[Percent, Meta(description="Free local storage in %")] | None = None
    firmware: (
        Annotated[str, Meta(min_length=1, max_length=100, pattern=_PRINTABLE, description="Firmware version")] | None
    ) = None
    errors: Annotated[list[ErrorCode], Meta(max_length=32, description="Error codes the device reports now")] | None = (
        None
    )


def _bare(kind: msgspec.inspect.Type) -> msgspec.inspect.Type:
    """The type without its `| None` and its Meta."""
    while isinstance(kind, msgspec.inspect.UnionType | msgspec.inspect.Metadata):
        if isinstance(kind, msgspec.inspect.Metadata):
            kind = kind.type
        else:
            kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
    return kind


def _column_type(field: msgspec.inspect.Field) -> TypeEngine[Any]:
    kind = _bare(field.type)
    if isinstance(kind, msgspec.inspect.IntType):
        # A bound past bigint would pass validation and fail the statement (a 422 must come first).
        if kind.le is None or kind.le > INT8_MAX or kind.ge is None or kind.ge < -INT8_MAX:
            raise TypeError(f"heartbeat metric {field.name}: an integer needs bounds within bigint")
        return BigInteger()
    if isinstance(kind, msgspec.inspect.FloatType):
        return Float()
    if isinstance(kind, msgspec.inspect.StrType) and kind.max_length:
        return String(kind.max_length)
    if isinstance(kind, msgspec.inspect.ListType):
        item = _bare(kind.item_type)
        if isinstance(item, msgspec.inspect.StrType) and item.max_length:
            return ARRAY(String(item.max_length))
    raise TypeError(f"heartbeat metric {field.name}: no column type for {kind!r}")


_METRIC_INFO = msgspec.inspect.type_info(HeartbeatMetrics)
assert isinstance(_METRIC_INFO, msgspec.inspect.StructType)
# Metric name -> column type, in the order of HeartbeatMetrics.
HEARTBEAT_METRIC_TYPES: dict[str, TypeEngine[Any]] = {f.name: _column_type(f) for f in _METRIC_INFO.fields}
HEARTBEAT_METRICS: tuple[str, ...] = tuple(HEARTBEAT_METRIC_TYPES)


class _MetricColumns:
    """The metric columns shared by heartbeat and camera_state, one per HeartbeatMetrics field."""


for _name, _type in HEARTBEAT_METRIC_TYPES.items():
    setattr(_MetricColumns, _name, mapped_column(_type, default=None))


class CameraState(_MetricColumns, Base):
    """The newest heartbeat per camera; ingest upserts it monotonically on received_at."""

    __tablename__ = "camera_state"
    __table_args__ = (Index("ix_camera_state_received_at", "received_at"),)

    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    heartbeat_count: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class Heartbeat(_MetricColumns, Base):
    """Heartbeat history, range-partitioned by day on received_at."""

    __tablename__ = "heartbeat"
    # The primary key (camera_id, received_at) also serves per-camera history reads.
    __table_args__ = ({"postgresql_partition_by": "RANGE (received_at)"},)

    # A partitioned table's primary key must contain the partition key; duplicates are harmless history.
    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
