"""Webhooks: an owner key, failures counted over time, an audit trail; indexes for retention

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02

A webhook belongs to the key that created it (operators manage only their own); `failing_since` marks
the first failure after the last success, so a webhook is disabled only after failing for a while, not
after a burst of fast failures; `webhook_change` audits every webhook change. Existing webhooks get the
key whose name is their `created_by` when exactly one key has it (otherwise only admins see them).
The retention job deletes by age: `webhook_delivery.created_at` and `camera_change.at` get indexes, and
the sender's per-webhook claim reads pending deliveries by webhook.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook", sa.Column("owner_key_id", sa.Uuid(), nullable=True))
    op.add_column("webhook", sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_webhook_owner_key_id", "webhook", ["owner_key_id"])
    op.execute(
        """
        UPDATE webhook w SET owner_key_id = k.id FROM api_key k
        WHERE k.name = w.created_by AND (SELECT count(*) FROM api_key n WHERE n.name = w.created_by) = 1
        """
    )
    op.create_table(
        "webhook_change",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_change_webhook_id_webhook"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_change")),
    )
    op.create_index("ix_webhook_change_webhook_id_id", "webhook_change", ["webhook_id", "id"])
    op.create_index("ix_webhook_change_at", "webhook_change", ["at"])
    op.create_index("ix_webhook_delivery_created_at", "webhook_delivery", ["created_at"])
    op.create_index(
        "ix_webhook_delivery_pending_webhook",
        "webhook_delivery",
        ["webhook_id", "next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_camera_change_at", "camera_change", ["at"])
    op.create_index("ix_incident_closed_at", "incident", ["closed_at"], postgresql_where=sa.text("state = 'closed'"))


def downgrade() -> None:
    op.drop_index("ix_incident_closed_at", table_name="incident")
    op.drop_index("ix_camera_change_at", table_name="camera_change")
    op.drop_index("ix_webhook_delivery_pending_webhook", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_created_at", table_name="webhook_delivery")
    op.drop_index("ix_webhook_change_at", table_name="webhook_change")
    op.drop_index("ix_webhook_change_webhook_id_id", table_name="webhook_change")
    op.drop_table("webhook_change")
    op.drop_index("ix_webhook_owner_key_id", table_name="webhook")
    op.drop_column("webhook", "failing_since")
    op.drop_column("webhook", "owner_key_id")
