from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of, utc_now_column

# The API's level filter and the CHECK below derive from this one Literal. Parents come before
# children in this order (an area load writes them so). Since 1 July 2025 the city's commune-level
# units are wards (phường), communes (xã) and one special zone (Côn Đảo); before, it had districts,
# and the provinces it absorbed (Bình Dương, Bà Rịa-Vũng Tàu) are the legacy home of their units.
AreaLevel = Literal["city", "province", "district", "ward", "commune", "special_zone"]
AREA_LEVELS: tuple[str, ...] = get_args(AreaLevel)
# What a device's `district` may name (a legacy district, or a former province), and its `ward`.
DISTRICT_LEVELS: tuple[str, ...] = ("province", "district")
WARD_LEVELS: tuple[str, ...] = ("ward", "commune", "special_zone")
# The two area sets the first migration loads: the 22 districts (and the two former provinces) camera
# inventories are still labelled by, and the 168 units of 2025. The city itself belongs to no set.
LEGACY_SET = "legacy"
WARDS_2025_SET = "2025"


class Area(Base):
    """A reference administrative area; cameras point at these by code.

    `former_district` is the crosswalk: the legacy district (or former province) a 2025 unit came
    from, so a camera given only a ward is counted under that district too.
    """

    __tablename__ = "area"
    __table_args__ = (
        CheckConstraint(one_of("level", AREA_LEVELS), name="level"),
        Index("ix_area_parent", "parent"),
        Index("ix_area_area_set_code", "area_set", "code"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent: Mapped[str | None] = mapped_column(String(32), ForeignKey("area.code", ondelete="RESTRICT"), default=None)
    area_set: Mapped[str | None] = mapped_column(String(32), default=None)
    former_district: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("area.code", ondelete="RESTRICT"), default=None
    )
    centroid_lat: Mapped[float | None] = mapped_column(Float, default=None)
    centroid_lon: Mapped[float | None] = mapped_column(Float, default=None)
    area_km2: Mapped[float | None] = mapped_column(Float, default=None)


class AreaBoundary(Base):
    """An area's outline: a simplified GeoJSON Polygon or MultiPolygon ([lon, lat], WGS 84) and its box.

    Loaded by `citycam areas boundaries`; the box finds the few outlines that may hold a point by index.
    """

    __tablename__ = "area_boundary"
    __table_args__ = (Index("ix_area_boundary_box", "min_lat", "max_lat", "min_lon", "max_lon"),)

    code: Mapped[str] = mapped_column(String(32), ForeignKey("area.code", ondelete="CASCADE"), primary_key=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONB)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    vertices: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(200), default=None)
    loaded_at: Mapped[datetime] = utc_now_column()
