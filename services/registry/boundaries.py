"""Area boundaries the registry reads: which outlines hold a camera's point, and the outlines for a map.

The outlines are loaded by `citycam areas boundaries` (validated and simplified there) into area_boundary
as GeoJSON. A single write reads only the outlines whose box holds its point (an index range); an import
reads them all once and finds each row's through an STR tree.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Area, AreaBoundary, AreaLevel


@dataclass
class Outlines:
    """Boundary geometries by area code, and the codes of those that cover a point."""

    geometries: dict[str, BaseGeometry] = field(default_factory=dict)
    _codes: list[str] = field(default_factory=list, init=False, repr=False)
    _tree: shapely.STRtree | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, rows: Iterable[AreaBoundary]) -> "Outlines":
        """Outlines of stored boundary rows."""
        return cls({row.code: shape(row.geometry) for row in rows})

    def covering(self, latitude: float, longitude: float) -> list[str]:
        """Codes of the outlines that hold the point (its edge included), in code order."""
        if not self.geometries:
            return []
        if self._tree is None:
            self._codes = sorted(self.geometries)
            self._tree = shapely.STRtree([self.geometries[code] for code in self._codes])
        hits = self._tree.query(Point(longitude, latitude), predicate="covered_by")
        return sorted(self._codes[int(i)] for i in hits)

    def area(self, code: str) -> float:
        """The outline's planar area in square degrees (only compared, to prefer the smaller of two)."""
        return float(self.geometries[code].area)


async def outlines_around(session: AsyncSession, *, point: tuple[float, float], codes: Sequence[str]) -> Outlines:
    """The outlines whose box holds the point (the only ones that can cover it) and those of the named areas."""
    latitude, longitude = point
    holds = and_(
        AreaBoundary.min_lat <= latitude,
        AreaBoundary.max_lat >= latitude,
        AreaBoundary.min_lon <= longitude,
        AreaBoundary.max_lon >= longitude,
    )
    stmt = select(AreaBoundary).where(or_(holds, AreaBoundary.code.in_(codes)))
    return Outlines.of((await session.execute(stmt)).scalars())


async def all_outlines(session: AsyncSession) -> Outlines:
    """Every stored outline (an import resolves all its rows against one read)."""
    return Outlines.of((await session.execute(select(AreaBoundary))).scalars())


async def boundary_features(
    session: AsyncSession, *, area_set: str | None, level: AreaLevel | None, codes: Sequence[str] | None
) -> dict[str, Any]:
    """The stored outlines as an RFC 7946 FeatureCollection, one Feature per area, in code order."""
    stmt = select(AreaBoundary, Area).join(Area, Area.code == AreaBoundary.code).order_by(AreaBoundary.code)
    if area_set is not None:
        stmt = stmt.where(Area.area_set == area_set)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if codes:
        stmt = stmt.where(Area.code.in_(codes))
    features = [
        {
            "type": "Feature",
            "id": area.code,
            "geometry": boundary.geometry,
            "properties": {
                "code": area.code,
                "name": area.name,
                "level": area.level,
                "set": area.area_set,
                "parent": area.parent,
                "former_district": area.former_district,
                "source": boundary.source,
            },
            "bbox": [boundary.min_lon, boundary.min_lat, boundary.max_lon, boundary.max_lat],
        }
        for boundary, area in (await session.execute(stmt)).all()
    ]
    return {"type": "FeatureCollection", "features": features}
