"""camera indexes for the incremental health pass: updated_at and heartbeat_interval_s

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Re-deriving every camera's status each second cost the health evaluator 150-300 ms of database time
per second on 100,000 cameras, which showed up in every other service's tail latency on a small
machine. An incremental pass looks only at what can have changed: registry changes are found by
updated_at, and the threshold crossings by range for each distinct heartbeat interval, which the
second index lists in a few probes instead of a scan of every camera (30-40 ms on 100,000).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_camera_updated_at", "camera", ["updated_at"])
    op.create_index("ix_camera_heartbeat_interval_s", "camera", ["heartbeat_interval_s"])


def downgrade() -> None:
    op.drop_index("ix_camera_heartbeat_interval_s", table_name="camera")
    op.drop_index("ix_camera_updated_at", table_name="camera")
