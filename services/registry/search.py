"""Finding cameras: the list and export filters, free-text search and the keyset page in code order."""

import math
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from shared.geo import BBox, Point
from shared.models import Camera
from shared.models.camera import search_fold
from shared.pagination import code_after, code_page


@dataclass(frozen=True)
class CameraFilters:
    """The list and export filters, combined with AND."""

    district: str | None = None
    ward: str | None = None
    lifecycle: str | None = None
    kind: str | None = None
    vendor: str | None = None
    model: str | None = None
    tag: str | None = None
    owner: str | None = None
    gateway_id: uuid.UUID | None = None
    q: str | None = None
    bbox: BBox | None = None
    near: Point | None = None
    radius_m: float | None = None


EARTH_RADIUS_M = 6371008.8
METRES_PER_DEGREE = 111_320.0


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_conditions(
    q: str, search_text: QueryableAttribute[str] | ColumnElement[str] = Camera.search_text
) -> list[ColumnElement[bool]]:
    """`q` as trigram-indexed LIKEs: every word must appear, in any order.

    A word of three letters or more may appear anywhere; a shorter one must be a whole word. search_text
    is framed by spaces with punctuation folded to spaces, so "% q1 %" carries the padded trigrams
    "  q", " q1" and "q1 ": every word feeds the index (a bare "%q1%" has no trigram at all), and short
    words that always follow longer ones ("vong xoay au co") narrow the rows to recheck.
    """
    words = search_fold(q).split()[:10]
    if not words:
        # Only punctuation: nothing can contain it once folded (a blank q is no filter at all).
        return [false()] if q.strip() else []
    return [
        search_text.like(f"%{_like_escape(word)}%" if len(word) >= 3 else f"% {_like_escape(word)} %", escape="\\")
        for word in words
    ]


def camera_conditions(filters: CameraFilters) -> list[ColumnElement[bool]]:
    """SQL conditions for every filter but the free text `q`; each one is served by an index."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (Camera.district, filters.district),
        (Camera.ward, filters.ward),
        (Camera.lifecycle, filters.lifecycle),
        (Camera.kind, filters.kind),
        (Camera.vendor, filters.vendor),
        (Camera.model, filters.model),
        (Camera.owner, filters.owner),
        (Camera.gateway_id, filters.gateway_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.tag is not None:
        conditions.append(Camera.tags.contains([filters.tag]))
    if filters.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        conditions += [Camera.latitude.between(min_lat, max_lat), Camera.longitude.between(min_lon, max_lon)]
    if filters.near is not None and filters.radius_m is not None:
        lat, lon = filters.near
        radius = filters.radius_m
        dlat = radius / METRES_PER_DEGREE
        dlon = radius / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
        conditions += [
            Camera.latitude.between(lat - dlat, lat + dlat),
            Camera.longitude.between(lon - dlon, lon + dlon),
        ]
        # Haversine for the exact circle, evaluated only on the rows inside the index-served box.
        hav = func.power(func.sin(func.radians(Camera.latitude - lat) / 2), 2) + func.cos(math.radians(lat)) * func.cos(
            func.radians(Camera.latitude)
        ) * func.power(func.sin(func.radians(Camera.longitude - lon) / 2), 2)
        conditions.append(2 * EARTH_RADIUS_M * func.asin(func.sqrt(func.least(hav, 1.0))) <= radius)
    return conditions


# A search first reads this many cameras in code order per row of the page (and at least
# SEARCH_WALK_MIN): about 1 ms, and enough to fill the page when at least one camera in 20 matches.
SEARCH_WALK_PER_ROW = 20
SEARCH_WALK_MIN = 2_000


async def custom_plans(session: AsyncSession) -> None:
    """Plan this transaction's queries for their actual values.

    asyncpg prepares statements, and after five runs Postgres may settle on a generic plan that
    assumes an average selectivity: a bbox covering the whole city then sorts every camera instead
    of walking the code index (measured: p99 1.4 s instead of under 10 ms on 110k cameras).
    """
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def camera_page(session: AsyncSession, *, filters: CameraFilters, limit: int, after: str | None) -> list[Camera]:
    """Up to `limit` cameras matching every filter, in code order after the code `after`.

    A free-text search has two ways to a page and the planner cannot tell which is cheap: its trigram
    estimates are rough, and matches cluster (a road lies in one or two districts, and a district's
    cameras sit together in the code index). Walking the code index is instant for common words and
    reads the whole city for a road at the far end of the alphabet (80-110 ms measured on 100k
    cameras); reading every match through the trigram index and sorting is 1-8 ms for a road and
    60-75 ms for a word in every address. So the walk is tried first, over a bounded stretch, and
    only a search it leaves short reads its matches through the trigram index.
    """
    await custom_plans(session)
    conditions = camera_conditions(filters)
    if after is not None:
        conditions.append(Camera.code > after)
    if not filters.q:
        stmt = select(Camera).where(*conditions).order_by(Camera.code).limit(limit)
        return list((await session.execute(stmt)).scalars())
    # The LIMIT fences the walk: the planner cannot fold the search into it and take another path.
    walked = (
        select(*Camera.__table__.c)
        .where(*conditions)
        .order_by(Camera.code)
        .limit(max(SEARCH_WALK_MIN, SEARCH_WALK_PER_ROW * limit))
        .subquery("walked")
    )
    walk = aliased(Camera, walked)
    stmt = select(walk).where(*search_conditions(filters.q, walk.search_text)).order_by(walk.code).limit(limit)
    cameras = list((await session.execute(stmt)).scalars())
    if len(cameras) == limit:
        return cameras
    # The rest of the transaction plans as usual: the switch is this one read's.
    await session.execute(text("SET LOCAL enable_indexscan = off"))
    stmt = select(Camera).where(*conditions, *search_conditions(filters.q)).order_by(Camera.code).limit(limit)
    cameras = list((await session.execute(stmt)).scalars())
    await session.execute(text("SET LOCAL enable_indexscan = on"))
    return cameras


async def list_cameras(
    session: AsyncSession, *, filters: CameraFilters, limit: int, cursor: str | None
) -> tuple[list[Camera], str | None]:
    """Cameras matching every filter, ordered by code, one keyset page."""
    rows = await camera_page(session, filters=filters, limit=limit + 1, after=code_after(cursor))
    return code_page(rows, limit)
