"""Reference area endpoints (districts, wards)."""

from fastapi import APIRouter, Query

from services.registry import areas
from services.registry.schemas import AreaRead
from shared.auth import RegistryReader
from shared.db import SessionDep
from shared.models import AreaLevel
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter()


@router.get("/areas", tags=["areas"], summary="Reference areas (districts, wards)")
async def list_areas(
    session: SessionDep,
    principal: RegistryReader,
    level: AreaLevel | None = None,
    parent: str | None = Query(default=None, max_length=32),
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[AreaRead]:
    items, next_cursor = await areas.list_areas(session, level=level, parent=parent, limit=limit, cursor=cursor)
    return Page[AreaRead](items=items, next_cursor=next_cursor)
