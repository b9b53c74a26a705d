import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, DateTime, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of, utc_now_column

# The API's role enum and the CHECK below derive from this one Literal.
Role = Literal["admin", "field", "operator", "monitor"]
ROLES: tuple[str, ...] = get_args(Role)


class ApiKey(Base):
    """A key for a person or system; only its SHA-256 and a visible prefix are stored."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # NULL means every district; a list limits writes to those districts.
    districts: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)), default=None)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = utc_now_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
