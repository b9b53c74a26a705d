"""camera search index without a pending list

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

GIN's fast update queues new entries in a pending list that every search reads in full until a
vacuum merges it: right after 100,000 cameras were loaded, a search for "bth" took 65 ms instead of
3.5 ms (PostgreSQL 18). Camera rows change only on registry writes (heartbeats and health live in
other tables), so the entries go straight into the index and searches stay as fast after an import.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER INDEX ix_camera_search_text SET (fastupdate = off)")
    # Turning fast update off leaves what is already queued; merge it now.
    op.execute("SELECT gin_clean_pending_list('ix_camera_search_text'::regclass)")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_camera_search_text RESET (fastupdate)")
