"""Reference areas (districts and wards): the list, and the check that a device's district and ward exist."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.pages import code_after, code_page
from services.registry.schemas import AreaRead
from shared.errors import ValidationFailed
from shared.models import Area


async def list_areas(
    session: AsyncSession,
    *,
    level: str | None,
    parent: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AreaRead], str | None]:
    """Areas ordered by code, one keyset page."""
    after = code_after(cursor)
    stmt = select(Area).order_by(Area.code).limit(limit + 1)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if parent is not None:
        stmt = stmt.where(Area.parent == parent)
    if after is not None:
        stmt = stmt.where(Area.code > after)
    rows, next_cursor = code_page(list((await session.execute(stmt)).scalars()), limit)
    return [AreaRead.model_validate(row, from_attributes=True) for row in rows], next_cursor


async def check_location(session: AsyncSession, *, district: str, ward: str | None) -> None:
    """422 unless district is a known district and ward (if any) a known ward of it."""
    codes = [district] if ward is None else [district, ward]
    found = {row.code: row for row in (await session.execute(select(Area).where(Area.code.in_(codes)))).scalars()}
    parent = found[ward].parent if ward is not None and ward in found else None
    if parent is not None and parent not in found:
        parent_area = await session.get(Area, parent)
        if parent_area is not None:
            found[parent] = parent_area
    check_location_among(found, district=district, ward=ward)


def check_location_among(areas: Mapping[str, Area], *, district: str, ward: str | None) -> None:
    """check_location against areas already read, by code (an import reads them all once)."""
    errors = _location_errors(areas, district=district, ward=ward)
    if errors:
        raise ValidationFailed(str(errors[0]["msg"]), errors=errors)


def _location_errors(areas: Mapping[str, Area], *, district: str, ward: str | None) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    area = areas.get(district)
    if area is None:
        errors.append({"loc": ["district"], "msg": f"unknown area code {district!r}"})
    elif area.level != "district":
        errors.append({"loc": ["district"], "msg": f"{district!r} is a {area.level}, not a district"})
    if ward is not None:
        ward_area = areas.get(ward)
        if ward_area is None:
            errors.append({"loc": ["ward"], "msg": f"unknown area code {ward!r}"})
        elif ward_area.level != "ward":
            errors.append({"loc": ["ward"], "msg": f"{ward!r} is a {ward_area.level}, not a ward"})
        elif (
            ward_area.parent is not None
            and ward_area.parent in areas
            and areas[ward_area.parent].level == "district"
            and ward_area.parent != district
        ):
            # Wards of the 2025 set hang off the city, so only a ward filed under a district is checked.
            errors.append({"loc": ["ward"], "msg": f"ward {ward!r} is in district {ward_area.parent!r}"})
    return errors
