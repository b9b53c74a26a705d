"""incident acknowledgement and console sessions

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-02

An operator acknowledges an incident (acked_by, acked_at, note), and the operations console signs in
by exchanging an API key for a session cookie whose token is stored only as its SHA-256.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("acked_by", sa.String(200), nullable=True))
    op.add_column("incident", sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("incident", sa.Column("note", sa.Text(), nullable=True))
    op.create_table(
        "console_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_key.id"], name=op.f("fk_console_session_key_id_api_key"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_session_token_hash")),
    )
    op.create_index(op.f("ix_console_session_key_id"), "console_session", ["key_id"])
    op.create_index("ix_console_session_expires_at", "console_session", ["expires_at"])


def downgrade() -> None:
    op.drop_table("console_session")
    op.drop_column("incident", "note")
    op.drop_column("incident", "acked_at")
    op.drop_column("incident", "acked_by")
