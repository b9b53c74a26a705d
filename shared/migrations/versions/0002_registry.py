"""registry search and geo indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The accent-folded search column with its trigram index (pg_trgm), a btree on (latitude, longitude)
for boxes and radius searches, indexes for the remaining list filters, and the audit's
unconditional-edit flag.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of shared.models.camera.SEARCH_TEXT_SQL at this revision.
FOLD_FROM = (
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
    "äåæçëïñöøüÿÄÅÆÇËÏÑÖØÜ"
)
FOLD_TO = (
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "aaaceinoouyaaaceinoou"
)
SEARCH_TEXT_SQL = (
    "lower(translate(coalesce(code, '') || ' ' || coalesce(name, '') || ' ' || coalesce(address, '')"
    f" || ' ' || coalesce(road, ''), '{FOLD_FROM}', '{FOLD_TO}'))"
)

# Single-column filter indexes of 0001, replaced by (filter, code) ones that also give the list order.
REPLACED_INDEXES = [
    ("ix_camera_district", ["district"]),
    ("ix_camera_ward", ["ward"]),
    ("ix_camera_gateway_id", ["gateway_id"]),
    ("ix_camera_lifecycle", ["lifecycle"]),
    ("ix_camera_vendor_model", ["vendor", "model"]),
    ("ix_camera_owner", ["owner"]),
]
KEYSET_FILTERS = ["district", "ward", "gateway_id", "lifecycle", "vendor", "model", "owner", "kind"]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column(
        "camera",
        sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT_SQL, persisted=True), nullable=False),
    )
    op.create_index(
        "ix_camera_search_text",
        "camera",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index("ix_camera_latitude_longitude", "camera", ["latitude", "longitude"], unique=False)
    for name, _ in REPLACED_INDEXES:
        op.drop_index(name, table_name="camera")
    for column in KEYSET_FILTERS:
        op.create_index(f"ix_camera_{column}_code", "camera", [column, "code"], unique=False)
    op.add_column(
        "camera_change",
        sa.Column("unconditional", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("camera_change", "unconditional")
    for column in KEYSET_FILTERS:
        op.drop_index(f"ix_camera_{column}_code", table_name="camera")
    for name, columns in REPLACED_INDEXES:
        op.create_index(name, "camera", columns, unique=False)
    op.drop_index("ix_camera_latitude_longitude", table_name="camera")
    op.drop_index("ix_camera_search_text", table_name="camera", postgresql_using="gin")
    op.drop_column("camera", "search_text")
    # pg_trgm stays: other objects may use it, and dropping an extension needs more rights than creating.
