import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of, utc_now_column

# The one definition of a camera's health status: the API's enums, the query filters and the CHECKs
# below derive from it (a new status needs a migration that changes the constraints too).
CameraStatus = Literal["online", "degraded", "offline", "unknown", "maintenance"]
STATUSES: tuple[str, ...] = get_args(CameraStatus)
# "Worst first": camera_health.rank, and the order of every list sorted by it.
# (tests/shared/test_migrations.py checks it names every status once.)
STATUS_RANKS: dict[str, int] = {"offline": 0, "degraded": 1, "unknown": 2, "online": 3, "maintenance": 4}


class CameraHealth(Base):
    """The evaluator's current verdict per camera; written only by the health leader.

    The camera's grouping columns are copied here by the evaluator so every health read
    (summary, groups, lists, map, metrics) is a single-table query over one consistent snapshot.
    """

    __tablename__ = "camera_health"
    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="status"),
        Index("ix_camera_health_rank_since", "rank", "since", "camera_id"),
        Index("ix_camera_health_district", "district"),
        Index("ix_camera_health_incident_id", "incident_id", postgresql_where=text("incident_id IS NOT NULL")),
        Index("ix_camera_health_flapping", "camera_id", postgresql_where=text("flapping")),
    )

    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evaluated_at: Mapped[datetime] = utc_now_column()
    flapping: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # 0 offline, 1 degraded, 2 unknown, 3 online, 4 maintenance: "worst first" is ORDER BY rank, since.
    rank: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")
    incident_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    district: Mapped[str] = mapped_column(String(32), default="", server_default="")
    ward: Mapped[str | None] = mapped_column(String(32), default=None)
    vendor: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    kind: Mapped[str] = mapped_column(String(16), default="fixed", server_default="fixed")
    owner: Mapped[str | None] = mapped_column(String(200), default=None)
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    interval_s: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # The evaluator compares these two integers, not the texts, to find what changed in a pass:
    # verdict = timing code x 32 + trouble bits; camera_version = camera.version when copied.
    verdict: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    camera_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatusEvent(Base):
    """A camera's status transition; the id orders events for `since=` and SSE `Last-Event-ID`."""

    __tablename__ = "status_event"
    __table_args__ = (
        CheckConstraint("from_status IS NULL OR " + one_of("from_status", STATUSES), name="from_status"),
        CheckConstraint(one_of("to_status", STATUSES), name="to_status"),
        Index("ix_status_event_camera_id_at", "camera_id", "at"),
        Index("ix_status_event_at", "at"),
        Index("ix_status_event_district_id", "district", "id"),
        Index("ix_status_event_incident_id", "incident_id", postgresql_where=text("incident_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    camera_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("camera.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(32))
    ward: Mapped[str | None] = mapped_column(String(32), default=None)
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    # When the threshold was crossed (e.g. last heartbeat + offline_after), not when it was noticed.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    incident_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    damped: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # When the evaluator recorded it; recorded_at - at is the detection delay.
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()"), nullable=False
    )


class HealthMeta(Base):
    """One row: the evaluator's last pass. generation changes whenever any verdict changed (ETags, caches)."""

    __tablename__ = "health_meta"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The moment statuses were derived for; behind evaluated_at while the stale-ingest guard holds.
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    newest_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    leader: Mapped[str | None] = mapped_column(String(200), default=None)
    pass_ms: Mapped[float | None] = mapped_column(Float, default=None)
    # City-wide counts as of this generation ({"by_status": {...}, "flapping": n, "open_incidents": n}),
    # so the most-polled read is one row.
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
