"""Reference areas: the list, and a device's location, resolved and checked against the areas.

A device carries a legacy `district`, a 2025 `ward`, or both. A ward alone implies its district through
the crosswalk (the ward's `former_district`, or the district it is filed under). When boundaries are
loaded, a camera without a ward gets the one whose outline holds its point, and a camera whose point
lies outside its declared ward or district is flagged with a warning (never refused: outlines are
simplified, and a camera on a boundary road may be filed on either side).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.boundaries import Outlines, all_outlines, outlines_around
from services.registry.schemas import AreaRead, LocationWarning
from shared.errors import ValidationFailed
from shared.models import DISTRICT_LEVELS, WARD_LEVELS, Area, AreaLevel
from shared.pagination import code_after, code_page

# The camera fields a location is made of: a change to any of them resolves the location again.
LOCATION_FIELDS = frozenset({"district", "ward", "latitude", "longitude"})


async def list_areas(
    session: AsyncSession,
    *,
    area_set: str | None,
    level: AreaLevel | None,
    parent: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AreaRead], str | None]:
    """Areas ordered by code, one keyset page."""
    after = code_after(cursor)
    stmt = select(Area).order_by(Area.code).limit(limit + 1)
    if area_set is not None:
        stmt = stmt.where(Area.area_set == area_set)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if parent is not None:
        stmt = stmt.where(Area.parent == parent)
    if after is not None:
        stmt = stmt.where(Area.code > after)
    rows, next_cursor = code_page(list((await session.execute(stmt)).scalars()), limit)
    return [area_read(row) for row in rows], next_cursor


def area_read(area: Area) -> AreaRead:
    """An area as the API returns it."""
    return AreaRead(
        code=area.code,
        name=area.name,
        level=area.level,
        parent=area.parent,
        set=area.area_set,
        former_district=area.former_district,
        centroid_lat=area.centroid_lat,
        centroid_lon=area.centroid_lon,
    )


@dataclass
class AreaIndex:
    """The areas (by code) and the outlines a location is resolved against."""

    areas: dict[str, Area]
    outlines: Outlines = field(default_factory=Outlines)

    def legacy_district(self, ward: Area) -> str | None:
        """The district a camera in this ward is counted under: the crosswalk, else the ward's parent district."""
        if ward.former_district is not None:
            return ward.former_district
        parent = self.areas.get(ward.parent) if ward.parent is not None else None
        return parent.code if parent is not None and parent.level in DISTRICT_LEVELS else None

    def ward_at(self, latitude: float, longitude: float) -> str | None:
        """The smallest ward-level area whose outline holds the point, if any."""
        wards = [
            code
            for code in self.outlines.covering(latitude, longitude)
            if code in self.areas and self.areas[code].level in WARD_LEVELS
        ]
        return min(wards, key=lambda code: (self.outlines.area(code), code)) if wards else None


async def _load(session: AsyncSession, codes: Iterable[str], into: dict[str, Area]) -> None:
    wanted = {code for code in codes if code not in into}
    if wanted:
        for area in (await session.execute(select(Area).where(Area.code.in_(wanted)))).scalars():
            into[area.code] = area


async def area_index(
    session: AsyncSession, *, codes: Iterable[str | None], point: tuple[float, float] | None
) -> AreaIndex:
    """What one device's location needs: the named areas, the outlines around its point, their districts."""
    named = [c for c in codes if c is not None]
    outlines = await outlines_around(session, point=point, codes=named) if point else Outlines()
    areas: dict[str, Area] = {}
    await _load(session, named + list(outlines.geometries), areas)
    # The crosswalk and the parents of the wards found: one more read at most, none for a district alone.
    wards = [a for a in areas.values() if a.level in WARD_LEVELS]
    await _load(session, [c for a in wards for c in (a.former_district, a.parent) if c], areas)
    return AreaIndex(areas, outlines)


async def full_area_index(session: AsyncSession) -> AreaIndex:
    """Every area and outline, for an import that resolves many rows against one read."""
    areas = {area.code: area for area in (await session.execute(select(Area))).scalars()}
    return AreaIndex(areas, await all_outlines(session))


@dataclass(frozen=True)
class Location:
    """A device's resolved district and ward, and what looked wrong about them."""

    district: str
    ward: str | None
    warnings: list[LocationWarning]


@dataclass(frozen=True)
class Current:
    """The stored location of a device being changed."""

    district: str
    ward: str | None


def _error(loc: str, msg: str) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": [loc], "msg": msg}])


def _warning(kind: Literal["outside_area", "district_differs"], loc: str, msg: str) -> LocationWarning:
    return LocationWarning(kind=kind, loc=[loc], msg=msg)


def _checked(index: AreaIndex, code: str, loc: str, levels: tuple[str, ...]) -> Area:
    area = index.areas.get(code)
    if area is None:
        raise _error(loc, f"unknown area code {code!r}")
    if area.level not in levels:
        raise _error(loc, f"{code!r} is a {area.level}, not one of {', '.join(levels)}")
    return area


def resolve_location(
    index: AreaIndex, *, given: Mapping[str, Any], current: Current | None, point: tuple[float, float] | None
) -> Location:
    """The district and ward a device ends up with, from the fields given (a body, a PATCH or an import row).

    A district given wins; else a ward given (new or changed) implies its legacy district; else the
    stored district stays. With outlines loaded, a missing ward is filled from the point. 422 when no
    district can be found, or an area is unknown or of the wrong level.
    """
    ward = given.get("ward", current.ward if current else None)
    filled = False
    if ward is None and point is not None:
        ward = index.ward_at(*point)
        filled = ward is not None
    ward_area = _checked(index, ward, "ward", WARD_LEVELS) if ward is not None else None
    implied = index.legacy_district(ward_area) if ward_area is not None else None
    district = given.get("district")
    if district is None:
        # A ward given (or filled for a new device) brings its district; a ward filled from the point of a
        # stored device keeps the district it has (a differing one is flagged below).
        named = given.get("ward") is not None and (current is None or given["ward"] != current.ward)
        from_ward = implied if named or current is None else None
        district = from_ward or (current.district if current else None)
    if district is None:
        if ward is not None:
            raise _error("district", f"ward {ward!r} has no legacy district on record: give a district")
        raise _error("district", "a district or a ward is required (no loaded ward boundary holds the coordinates)")
    district_area = _checked(index, district, "district", DISTRICT_LEVELS)
    warnings: list[LocationWarning] = []
    if ward_area is not None and implied is not None and implied != district:
        parent = index.areas.get(ward_area.parent) if ward_area.parent is not None else None
        if parent is not None and parent.level in DISTRICT_LEVELS:
            # A ward filed under a district belongs to that district alone.
            raise _error("ward", f"ward {ward!r} is in district {parent.code!r}")
        # A 2025 unit may hold parts of a second old district (hcmc-wards-2025.md lists seven).
        warnings.append(
            _warning("district_differs", "district", f"ward {ward!r} came from {implied!r}, not {district!r}")
        )
    if point is not None:
        declared = [(district_area, "district")] + ([] if filled or ward_area is None else [(ward_area, "ward")])
        covering = set(index.outlines.covering(*point))
        for area, loc in declared:
            if area.code in index.outlines.geometries and area.code not in covering:
                warnings.append(
                    _warning("outside_area", loc, f"the coordinates lie outside the boundary of {loc} {area.code!r}")
                )
    return Location(district=district, ward=ward, warnings=warnings)


async def locate(
    session: AsyncSession, *, given: Mapping[str, Any], current: Current | None, point: tuple[float, float] | None
) -> Location:
    """resolve_location for one device, reading only the areas and outlines it needs."""
    codes = [given.get("district"), given.get("ward")] + ([current.district, current.ward] if current else [])
    index = await area_index(session, codes=codes, point=point)
    return resolve_location(index, given=given, current=current, point=point)
