import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utc_now_column


class ConsoleSession(Base):
    """A browser's sign-in to the console: an API key exchanged for a cookie. Only the SHA-256 of the
    cookie's token is stored (the CSRF token is derived from the token); the key itself is never kept."""

    __tablename__ = "console_session"
    __table_args__ = (Index("ix_console_session_expires_at", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Every request re-reads the key, so revoking it ends its sessions too.
    key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_key.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = utc_now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
