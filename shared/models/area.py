from typing import Literal, get_args

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, one_of

# The API's level filter and the CHECK below derive from this one Literal.
AreaLevel = Literal["city", "district", "ward"]
AREA_LEVELS: tuple[str, ...] = get_args(AreaLevel)


class Area(Base):
    """A reference administrative area (district or ward); cameras point at these by code."""

    __tablename__ = "area"
    __table_args__ = (
        CheckConstraint(one_of("level", AREA_LEVELS), name="level"),
        Index("ix_area_parent", "parent"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent: Mapped[str | None] = mapped_column(String(32), ForeignKey("area.code", ondelete="RESTRICT"), default=None)
    centroid_lat: Mapped[float | None] = mapped_column(Float, default=None)
    centroid_lon: Mapped[float | None] = mapped_column(Float, default=None)
    area_km2: Mapped[float | None] = mapped_column(Float, default=None)
