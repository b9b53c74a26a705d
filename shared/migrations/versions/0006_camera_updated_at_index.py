"""camera updated_at index for the incremental health pass

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Re-deriving every camera's status each second cost the health evaluator 150-300 ms of database time
per second on 100,000 cameras, which showed up in every other service's tail latency on a small
machine. An incremental pass looks only at what can have changed; registry changes are found here.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_camera_updated_at", "camera", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_camera_updated_at", table_name="camera")
