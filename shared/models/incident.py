import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of

# The API's enums and the CHECKs below derive from these Literals.
IncidentKind = Literal["gateway", "ward", "district", "ingest"]
IncidentState = Literal["open", "closed"]
INCIDENT_KINDS: tuple[str, ...] = get_args(IncidentKind)
INCIDENT_STATES: tuple[str, ...] = get_args(IncidentState)


class Incident(Base):
    """A correlated outage: many cameras behind one gateway or in one area going offline together, or the
    ingest path going quiet. One incident instead of N alarms."""

    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(one_of("kind", INCIDENT_KINDS), name="kind"),
        CheckConstraint(one_of("state", INCIDENT_STATES), name="state"),
        Index("ix_incident_opened_at", "opened_at"),
        # Retention deletes closed incidents by age.
        Index("ix_incident_closed_at", "closed_at", postgresql_where=text("state = 'closed'")),
        # At most one open incident per scope.
        Index("uq_incident_open_scope", "kind", "scope", unique=True, postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The gateway id, ward or district code, or 'ingest'.
    scope: Mapped[str] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    cause: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    camera_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")
    camera_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # An operator's acknowledgement ("someone is on it"): the API key's name, when, and a note.
    acked_by: Mapped[str | None] = mapped_column(String(200), default=None)
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
