"""health incidents and webhooks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The health service's schema: camera_health gains the camera's grouping columns and a rank (so every
health read is one table), status_event gains recorded_at, and incidents, webhooks, their delivery
log and the evaluator's singleton health_meta row are added.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stale", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("newest_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leader", sa.String(length=200), nullable=True),
        sa.Column("pass_ms", sa.Float(), nullable=True),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_health_meta_singleton")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_meta")),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("camera_ids", postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("camera_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.CheckConstraint("kind IN ('gateway', 'ward', 'district', 'ingest')", name=op.f("ck_incident_kind")),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_incident_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    op.create_index("ix_incident_opened_at", "incident", ["opened_at"], unique=False)
    op.create_index(
        "uq_incident_open_scope", "incident", ["kind", "scope"], unique=True, postgresql_where=sa.text("state = 'open'")
    )
    op.create_table(
        "webhook",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("districts", postgresql.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column("statuses", postgresql.ARRAY(sa.String(length=16)), nullable=True),
        sa.Column("transitions", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("incidents", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("incident_members", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_event_id", sa.BigInteger(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed', 'cancelled')", name=op.f("ck_webhook_delivery_state")
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_delivery_webhook_id_webhook"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index(
        "ix_webhook_delivery_due",
        "webhook_delivery",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_webhook_delivery_webhook_id_id", "webhook_delivery", ["webhook_id", "id"], unique=False)
    op.add_column("camera_health", sa.Column("rank", sa.SmallInteger(), server_default="2", nullable=False))
    op.add_column("camera_health", sa.Column("incident_id", sa.BigInteger(), nullable=True))
    op.add_column("camera_health", sa.Column("code", sa.String(length=64), server_default="", nullable=False))
    op.add_column("camera_health", sa.Column("district", sa.String(length=32), server_default="", nullable=False))
    op.add_column("camera_health", sa.Column("ward", sa.String(length=32), nullable=True))
    op.add_column("camera_health", sa.Column("vendor", sa.String(length=100), nullable=True))
    op.add_column("camera_health", sa.Column("model", sa.String(length=100), nullable=True))
    op.add_column("camera_health", sa.Column("kind", sa.String(length=16), server_default="fixed", nullable=False))
    op.add_column("camera_health", sa.Column("owner", sa.String(length=200), nullable=True))
    op.add_column("camera_health", sa.Column("gateway_id", sa.Uuid(), nullable=True))
    op.add_column(
        "camera_health", sa.Column("tags", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False)
    )
    op.add_column("camera_health", sa.Column("interval_s", sa.Integer(), server_default="30", nullable=False))
    op.add_column("camera_health", sa.Column("verdict", sa.Integer(), server_default="0", nullable=False))
    op.add_column("camera_health", sa.Column("camera_version", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_camera_health_district", "camera_health", ["district"], unique=False)
    op.create_index(
        "ix_camera_health_flapping", "camera_health", ["camera_id"], unique=False, postgresql_where=sa.text("flapping")
    )
    op.create_index(
        "ix_camera_health_incident_id",
        "camera_health",
        ["incident_id"],
        unique=False,
        postgresql_where=sa.text("incident_id IS NOT NULL"),
    )
    # Every pass rewrites the rows whose verdict changed: indexes are kept to what the reads use
    # (status filters go through rank).
    op.drop_index("ix_camera_health_status", table_name="camera_health")
    op.create_index("ix_camera_health_rank_since", "camera_health", ["rank", "since", "camera_id"], unique=False)
    op.add_column(
        "status_event",
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
    )
    op.create_index(
        "ix_status_event_incident_id",
        "status_event",
        ["incident_id"],
        unique=False,
        postgresql_where=sa.text("incident_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_status_event_incident_id", table_name="status_event", postgresql_where=sa.text("incident_id IS NOT NULL")
    )
    op.drop_column("status_event", "recorded_at")
    op.drop_index("ix_camera_health_rank_since", table_name="camera_health")
    op.create_index("ix_camera_health_status", "camera_health", ["status"], unique=False)
    op.drop_index(
        "ix_camera_health_incident_id", table_name="camera_health", postgresql_where=sa.text("incident_id IS NOT NULL")
    )
    op.drop_index("ix_camera_health_flapping", table_name="camera_health", postgresql_where=sa.text("flapping"))
    op.drop_index("ix_camera_health_district", table_name="camera_health")
    op.drop_column("camera_health", "camera_version")
    op.drop_column("camera_health", "verdict")
    op.drop_column("camera_health", "interval_s")
    op.drop_column("camera_health", "tags")
    op.drop_column("camera_health", "gateway_id")
    op.drop_column("camera_health", "owner")
    op.drop_column("camera_health", "kind")
    op.drop_column("camera_health", "model")
    op.drop_column("camera_health", "vendor")
    op.drop_column("camera_health", "ward")
    op.drop_column("camera_health", "district")
    op.drop_column("camera_health", "code")
    op.drop_column("camera_health", "incident_id")
    op.drop_column("camera_health", "rank")
    op.drop_index("ix_webhook_delivery_webhook_id_id", table_name="webhook_delivery")
    op.drop_index(
        "ix_webhook_delivery_due", table_name="webhook_delivery", postgresql_where=sa.text("state = 'pending'")
    )
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    op.drop_index("uq_incident_open_scope", table_name="incident", postgresql_where=sa.text("state = 'open'"))
    op.drop_index("ix_incident_opened_at", table_name="incident")
    op.drop_table("incident")
    op.drop_table("health_meta")
