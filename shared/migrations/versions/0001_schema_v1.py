"""schema v1

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Ho Chi Minh City's 22 district-level units before the 2025 re-organisation (../shared/data/hcmc-districts.csv):
# code, Vietnamese name, approximate centroid and area.
HCMC_DISTRICTS = [
    ("Q1", "Quận 1", 10.7756, 106.7019, 7.73),
    ("Q3", "Quận 3", 10.7843, 106.6844, 4.92),
    ("Q4", "Quận 4", 10.7578, 106.7013, 4.18),
    ("Q5", "Quận 5", 10.754, 106.6634, 4.27),
    ("Q6", "Quận 6", 10.748, 106.6352, 7.14),
    ("Q7", "Quận 7", 10.734, 106.7216, 35.69),
    ("Q8", "Quận 8", 10.724, 106.6286, 19.11),
    ("Q10", "Quận 10", 10.7746, 106.6679, 5.72),
    ("Q11", "Quận 11", 10.7629, 106.6501, 5.14),
    ("Q12", "Quận 12", 10.8672, 106.6413, 52.74),
    ("BTH", "Quận Bình Thạnh", 10.8106, 106.7091, 20.76),
    ("GVA", "Quận Gò Vấp", 10.8387, 106.6653, 19.74),
    ("PNH", "Quận Phú Nhuận", 10.7992, 106.6803, 4.88),
    ("TBI", "Quận Tân Bình", 10.8015, 106.6527, 22.43),
    ("TPH", "Quận Tân Phú", 10.7901, 106.6282, 15.97),
    ("BTA", "Quận Bình Tân", 10.7653, 106.6038, 52.02),
    ("TDU", "Thành phố Thủ Đức", 10.8231, 106.769, 211.56),
    ("BCH", "Huyện Bình Chánh", 10.688, 106.594, 252.56),
    ("CCH", "Huyện Củ Chi", 11.0067, 106.5132, 434.77),
    ("HMO", "Huyện Hóc Môn", 10.8863, 106.5923, 109.17),
    ("NBE", "Huyện Nhà Bè", 10.6952, 106.7048, 100.43),
    ("CGI", "Huyện Cần Giờ", 10.411, 106.954, 704.45),
]


def _seed_districts() -> None:
    area = sa.table(
        "area",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("level", sa.String),
        sa.column("centroid_lat", sa.Float),
        sa.column("centroid_lon", sa.Float),
        sa.column("area_km2", sa.Float),
    )
    op.bulk_insert(
        area,
        [
            {
                "code": c,
                "name": n,
                "level": "district",
                "centroid_lat": lat,
                "centroid_lon": lon,
                "area_km2": km2,
            }
            for c, n, lat, lon, km2 in HCMC_DISTRICTS
        ],
    )


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("districts", postgresql.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'field', 'operator', 'monitor')",
            name=op.f("ck_api_key_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "area",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent", sa.String(length=32), nullable=True),
        sa.Column("centroid_lat", sa.Float(), nullable=True),
        sa.Column("centroid_lon", sa.Float(), nullable=True),
        sa.Column("area_km2", sa.Float(), nullable=True),
        sa.CheckConstraint("level IN ('city', 'district', 'ward')", name=op.f("ck_area_level")),
        sa.ForeignKeyConstraint(
            ["parent"],
            ["area.code"],
            name=op.f("fk_area_parent_area"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_area")),
    )
    op.create_index("ix_area_parent", "area", ["parent"], unique=False)
    op.create_table(
        "heartbeat",
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uptime_s", sa.BigInteger(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("bitrate_kbps", sa.Float(), nullable=True),
        sa.Column("packet_loss_pct", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("storage_free_pct", sa.Float(), nullable=True),
        sa.Column("firmware", sa.String(length=100), nullable=True),
        sa.Column("errors", postgresql.ARRAY(sa.String(length=64)), nullable=True),
        sa.Column("gateway_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("camera_id", "received_at", name=op.f("pk_heartbeat")),
        postgresql_partition_by="RANGE (received_at)",
    )
    # Rows outside every daily partition land here rather than failing; the retention job creates days ahead.
    op.execute("CREATE TABLE heartbeat_default PARTITION OF heartbeat DEFAULT")
    op.create_table(
        "gateway",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("ward", sa.String(length=32), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("vendor", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("firmware", sa.String(length=100), nullable=True),
        sa.Column("ip", postgresql.INET(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=64)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("lifecycle", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("heartbeat_interval_s", sa.Integer(), server_default="30", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "lifecycle IN ('planned', 'active', 'maintenance', 'decommissioned')",
            name=op.f("ck_gateway_lifecycle"),
        ),
        sa.CheckConstraint(
            "heartbeat_interval_s BETWEEN 5 AND 3600",
            name=op.f("ck_gateway_heartbeat_interval_s"),
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR latitude BETWEEN -90 AND 90",
            name=op.f("ck_gateway_latitude"),
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180",
            name=op.f("ck_gateway_longitude"),
        ),
        sa.ForeignKeyConstraint(
            ["district"],
            ["area.code"],
            name=op.f("fk_gateway_district_area"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ward"],
            ["area.code"],
            name=op.f("fk_gateway_ward_area"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway")),
        sa.UniqueConstraint("code", name=op.f("uq_gateway_code")),
    )
    op.create_index("ix_gateway_district", "gateway", ["district"], unique=False)
    op.create_table(
        "camera",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("ward", sa.String(length=32), nullable=True),
        sa.Column("road", sa.String(length=200), nullable=True),
        sa.Column("direction", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), server_default="fixed", nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("firmware", sa.String(length=100), nullable=True),
        sa.Column("ip", postgresql.INET(), nullable=True),
        sa.Column("stream_url", sa.Text(), nullable=True),
        sa.Column("stream_credentials_hash", sa.String(length=64), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("heartbeat_interval_s", sa.Integer(), server_default="30", nullable=False),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=64)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("gateway_id", sa.Uuid(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind IN ('fixed', 'ptz', 'dome', 'anpr', 'speed', 'other')",
            name=op.f("ck_camera_kind"),
        ),
        sa.CheckConstraint(
            "lifecycle IN ('planned', 'active', 'maintenance', 'decommissioned')",
            name=op.f("ck_camera_lifecycle"),
        ),
        sa.CheckConstraint(
            "heartbeat_interval_s BETWEEN 5 AND 3600",
            name=op.f("ck_camera_heartbeat_interval_s"),
        ),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_camera_latitude")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_camera_longitude")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_camera_version")),
        sa.ForeignKeyConstraint(
            ["district"],
            ["area.code"],
            name=op.f("fk_camera_district_area"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateway.id"],
            name=op.f("fk_camera_gateway_id_gateway"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ward"],
            ["area.code"],
            name=op.f("fk_camera_ward_area"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera")),
        sa.UniqueConstraint("code", name=op.f("uq_camera_code")),
    )
    op.create_index("ix_camera_district", "camera", ["district"], unique=False)
    op.create_index("ix_camera_gateway_id", "camera", ["gateway_id"], unique=False)
    op.create_index("ix_camera_lifecycle", "camera", ["lifecycle"], unique=False)
    op.create_index("ix_camera_owner", "camera", ["owner"], unique=False)
    op.create_index("ix_camera_tags", "camera", ["tags"], unique=False, postgresql_using="gin")
    op.create_index("ix_camera_vendor_model", "camera", ["vendor", "model"], unique=False)
    op.create_index("ix_camera_ward", "camera", ["ward"], unique=False)
    op.create_table(
        "gateway_state",
        sa.Column("gateway_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cameras_reported", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateway.id"],
            name=op.f("fk_gateway_state_gateway_id_gateway"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_gateway_state")),
    )
    op.create_table(
        "camera_change",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.Uuid(), nullable=True),
        sa.Column("gateway_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "changes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.CheckConstraint(
            "(camera_id IS NULL) <> (gateway_id IS NULL)",
            name=op.f("ck_camera_change_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_camera_change_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateway.id"],
            name=op.f("fk_camera_change_gateway_id_gateway"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_change")),
    )
    op.create_index(
        "ix_camera_change_camera_id_id",
        "camera_change",
        ["camera_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_camera_change_gateway_id_id",
        "camera_change",
        ["gateway_id", "id"],
        unique=False,
    )
    op.create_table(
        "camera_health",
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "evaluated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("flapping", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "status IN ('online', 'degraded', 'offline', 'unknown', 'maintenance')",
            name=op.f("ck_camera_health_status"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_camera_health_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_health")),
    )
    op.create_index("ix_camera_health_status", "camera_health", ["status"], unique=False)
    op.create_table(
        "camera_state",
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uptime_s", sa.BigInteger(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("bitrate_kbps", sa.Float(), nullable=True),
        sa.Column("packet_loss_pct", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("storage_free_pct", sa.Float(), nullable=True),
        sa.Column("firmware", sa.String(length=100), nullable=True),
        sa.Column("errors", postgresql.ARRAY(sa.String(length=64)), nullable=True),
        sa.Column("gateway_id", sa.Uuid(), nullable=True),
        sa.Column("heartbeat_count", sa.BigInteger(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_camera_state_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_state")),
    )
    op.create_index("ix_camera_state_received_at", "camera_state", ["received_at"], unique=False)
    op.create_table(
        "device_credential",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("camera_id", sa.Uuid(), nullable=True),
        sa.Column("gateway_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(camera_id IS NULL) <> (gateway_id IS NULL)",
            name=op.f("ck_device_credential_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_device_credential_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateway.id"],
            name=op.f("fk_device_credential_gateway_id_gateway"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_credential")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_credential_token_hash")),
    )
    op.create_index(
        "ix_device_credential_camera_id",
        "device_credential",
        ["camera_id"],
        unique=False,
    )
    op.create_index(
        "ix_device_credential_gateway_id",
        "device_credential",
        ["gateway_id"],
        unique=False,
    )
    op.create_index(
        "uq_device_credential_live_camera",
        "device_credential",
        ["camera_id"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL AND camera_id IS NOT NULL"),
    )
    op.create_index(
        "uq_device_credential_live_gateway",
        "device_credential",
        ["gateway_id"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL AND gateway_id IS NOT NULL"),
    )
    op.create_table(
        "status_event",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("ward", sa.String(length=32), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("damped", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "from_status IS NULL OR from_status IN ('online', 'degraded', 'offline', 'unknown', 'maintenance')",
            name=op.f("ck_status_event_from_status"),
        ),
        sa.CheckConstraint(
            "to_status IN ('online', 'degraded', 'offline', 'unknown', 'maintenance')",
            name=op.f("ck_status_event_to_status"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_status_event_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_event")),
    )
    op.create_index("ix_status_event_at", "status_event", ["at"], unique=False)
    op.create_index(
        "ix_status_event_camera_id_at",
        "status_event",
        ["camera_id", "at"],
        unique=False,
    )
    op.create_index("ix_status_event_district_id", "status_event", ["district", "id"], unique=False)
    _seed_districts()


def downgrade() -> None:
    op.drop_index("ix_status_event_district_id", table_name="status_event")
    op.drop_index("ix_status_event_camera_id_at", table_name="status_event")
    op.drop_index("ix_status_event_at", table_name="status_event")
    op.drop_table("status_event")
    op.drop_index(
        "uq_device_credential_live_gateway",
        table_name="device_credential",
        postgresql_where=sa.text("revoked_at IS NULL AND gateway_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_device_credential_live_camera",
        table_name="device_credential",
        postgresql_where=sa.text("revoked_at IS NULL AND camera_id IS NOT NULL"),
    )
    op.drop_index("ix_device_credential_gateway_id", table_name="device_credential")
    op.drop_index("ix_device_credential_camera_id", table_name="device_credential")
    op.drop_table("device_credential")
    op.drop_index("ix_camera_state_received_at", table_name="camera_state")
    op.drop_table("camera_state")
    op.drop_index("ix_camera_health_status", table_name="camera_health")
    op.drop_table("camera_health")
    op.drop_index("ix_camera_change_gateway_id_id", table_name="camera_change")
    op.drop_index("ix_camera_change_camera_id_id", table_name="camera_change")
    op.drop_table("camera_change")
    op.drop_table("gateway_state")
    op.drop_index("ix_camera_ward", table_name="camera")
    op.drop_index("ix_camera_vendor_model", table_name="camera")
    op.drop_index("ix_camera_tags", table_name="camera", postgresql_using="gin")
    op.drop_index("ix_camera_owner", table_name="camera")
    op.drop_index("ix_camera_lifecycle", table_name="camera")
    op.drop_index("ix_camera_gateway_id", table_name="camera")
    op.drop_index("ix_camera_district", table_name="camera")
    op.drop_table("camera")
    op.drop_index("ix_gateway_district", table_name="gateway")
    op.drop_table("gateway")
    op.drop_table("heartbeat")
    op.drop_index("ix_area_parent", table_name="area")
    op.drop_table("area")
    op.drop_table("api_key")
