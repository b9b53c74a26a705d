"""area sets: the 168 units of 2025 beside the 22 districts, the city and the two former provinces, boundaries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Since 1 July 2025 (Resolution 1685/NQ-UBTVQH15) Ho Chi Minh City has 168 commune-level units and no
districts; it absorbed Bình Dương and Bà Rịa-Vũng Tàu. The 168 rows come from shared/data/hcmc-wards-2025.csv
(the file is the one definition; a later change to it needs a migration of its own), the two former
provinces from hcmc-former-provinces.csv. Every unit of both sets gets the city HCM as its parent, and each
2025 unit the legacy district (or former province) it came from: the crosswalk.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA = Path(__file__).resolve().parents[2] / "data"
OLD_LEVELS = "level IN ('city', 'district', 'ward')"
NEW_LEVELS = "level IN ('city', 'province', 'district', 'ward', 'commune', 'special_zone')"
CITY = {"code": "HCM", "name": "Thành phố Hồ Chí Minh", "level": "city", "area_km2": 6772.59}


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _upsert(rows: list[dict[str, object]] | list[dict[str, str]]) -> None:
    area = sa.table(
        "area",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("level", sa.String),
        sa.column("parent", sa.String),
        sa.column("area_set", sa.String),
        sa.column("former_district", sa.String),
        sa.column("centroid_lat", sa.Float),
        sa.column("centroid_lon", sa.Float),
        sa.column("area_km2", sa.Float),
    )
    columns = ("name", "level", "parent", "area_set", "former_district", "centroid_lat", "centroid_lon", "area_km2")
    for row in rows:
        values = {"code": row["code"], **{c: row.get(c) for c in columns}}
        stmt = postgresql.insert(area).values(**values)
        # Reference data wins over a same-coded area someone loaded by hand before.
        op.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={c: stmt.excluded[c] for c in columns}))


def upgrade() -> None:
    op.drop_constraint(op.f("ck_area_level"), "area", type_="check")
    op.create_check_constraint(op.f("ck_area_level"), "area", NEW_LEVELS)
    op.add_column("area", sa.Column("area_set", sa.String(length=32), nullable=True))
    op.add_column("area", sa.Column("former_district", sa.String(length=32), nullable=True))
    op.create_foreign_key(
        "fk_area_former_district_area", "area", "area", ["former_district"], ["code"], ondelete="RESTRICT"
    )
    op.create_index("ix_area_area_set_code", "area", ["area_set", "code"])
    op.create_table(
        "area_boundary",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("geometry", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("vertices", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["code"], ["area.code"], name=op.f("fk_area_boundary_code_area"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_area_boundary")),
    )
    op.create_index("ix_area_boundary_box", "area_boundary", ["min_lat", "max_lat", "min_lon", "max_lon"])

    _upsert([CITY])
    provinces = [
        {
            "code": p["code"],
            "name": p["name"],
            "level": "province",
            "parent": "HCM",
            "area_set": "legacy",
            "centroid_lat": float(p["centroid_lat"]),
            "centroid_lon": float(p["centroid_lon"]),
            "area_km2": float(p["area_km2"]),
        }
        for p in _rows("hcmc-former-provinces.csv")
    ]
    _upsert(provinces)
    op.execute("UPDATE area SET parent = 'HCM', area_set = 'legacy' WHERE level = 'district' AND parent IS NULL")
    _upsert(
        [
            {
                "code": w["code"],
                "name": w["name"],
                "level": w["level"],
                "parent": w["parent"],
                "area_set": "2025",
                "former_district": w["former_district"],
            }
            for w in _rows("hcmc-wards-2025.csv")
        ]
    )


def downgrade() -> None:
    # Refused by the foreign keys while a camera or gateway still names one of these areas.
    op.execute("DELETE FROM area WHERE area_set = '2025'")
    op.execute("UPDATE area SET parent = NULL, area_set = NULL WHERE level = 'district' AND parent = 'HCM'")
    op.execute("DELETE FROM area WHERE code IN ('BDU', 'BRVT', 'HCM')")
    op.drop_index("ix_area_boundary_box", table_name="area_boundary")
    op.drop_table("area_boundary")
    op.drop_index("ix_area_area_set_code", table_name="area")
    op.drop_constraint("fk_area_former_district_area", "area", type_="foreignkey")
    op.drop_column("area", "former_district")
    op.drop_column("area", "area_set")
    op.drop_constraint(op.f("ck_area_level"), "area", type_="check")
    op.create_check_constraint(op.f("ck_area_level"), "area", OLD_LEVELS)
