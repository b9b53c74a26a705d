"""Reference area endpoints: the areas of each set, and their boundaries for a map."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.registry import areas, boundaries
from services.registry.schemas import AreaRead
from shared.auth import RegistryReader
from shared.db import SessionDep
from shared.models import AreaLevel
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter()

SetQuery = Annotated[
    str | None,
    Query(
        alias="set",
        min_length=1,
        max_length=32,
        description="Only this area set: legacy (the 22 districts and the two former provinces), 2025 (the 168"
        " units since 1 July 2025), or one loaded with `citycam areas load --set`",
    ),
]


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


@router.get("/areas", tags=["areas"], summary="Reference areas (districts, wards), by set and level")
async def list_areas(
    session: SessionDep,
    principal: RegistryReader,
    area_set: SetQuery = None,
    level: AreaLevel | None = None,
    parent: str | None = Query(default=None, max_length=32),
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[AreaRead]:
    items, next_cursor = await areas.list_areas(
        session, area_set=area_set, level=level, parent=parent, limit=limit, cursor=cursor
    )
    return Page[AreaRead](items=items, next_cursor=next_cursor)


@router.get(
    "/areas/boundaries",
    tags=["areas"],
    summary="Area outlines for a map, as a GeoJSON FeatureCollection",
    description="One Feature per area with a loaded boundary (`citycam areas boundaries`), `id` the area code,"
    " properties code, name, level, set, parent, former_district and source; geometry a simplified Polygon or"
    " MultiPolygon in [longitude, latitude] (RFC 7946). Empty when no boundaries are loaded: citycam ships none.",
    response_class=GeoJSONResponse,
    responses={200: {"content": {GeoJSONResponse.media_type: {"schema": {"type": "object"}}}}},
)
async def area_boundaries(
    session: SessionDep,
    principal: RegistryReader,
    area_set: SetQuery = None,
    level: AreaLevel | None = None,
    code: Annotated[list[str] | None, Query(max_length=200, description="Only these areas (repeatable)")] = None,
) -> GeoJSONResponse:
    collection = await boundaries.boundary_features(session, area_set=area_set, level=level, codes=code)
    return GeoJSONResponse(collection)
