"""ingest partitions and state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Reserved slot in the single chain for the ingest service's schema additions, so the three services'
work can land independently without forking the chain.

Ingest needs no schema change here: the daily partitions of heartbeat (heartbeat_pYYYYMMDD) are
runtime objects, created ahead and dropped after the retention period by the ingest retention job
(services/ingest/service.py, maintain_partitions); rows that land in heartbeat_default before their
day's partition exists are moved into it when it is created.
"""

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
