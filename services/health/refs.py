"""What a query names, resolved: a camera or gateway by id or code, statuses by name (422 when unknown),
and a newest-first page after a cursor."""

import uuid
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import NotFound, ValidationFailed
from shared.models import STATUSES, Camera
from shared.pagination import InvalidCursor, decode_cursor, encode_cursor


def parse_statuses(raw: list[str] | None) -> list[str] | None:
    """status=offline&status=degraded or status=offline,degraded; 422 for an unknown status."""
    if not raw:
        return None
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    unknown = [v for v in values if v not in STATUSES]
    if unknown:
        raise ValidationFailed(
            f"unknown status {unknown[0][:40]!r}",
            errors=[{"loc": ["query", "status"], "msg": f"must be one of {', '.join(STATUSES)}"}],
        )
    return values or None


async def gateway_id(session: AsyncSession, ref: str) -> uuid.UUID | None:
    """The gateway with this id or code (None when no gateway has the code)."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        return await session.scalar(text("SELECT id FROM gateway WHERE code = :c"), {"c": ref})


async def find_camera(session: AsyncSession, ref: str) -> Camera:
    """The camera with this id or code; 404 when there is none."""
    try:
        condition = Camera.id == uuid.UUID(ref)
    except ValueError:
        condition = Camera.code == ref
    camera = await session.scalar(select(Camera).where(condition))
    if camera is None:
        raise NotFound(f"no camera with id or code {ref!r}")
    return camera


async def newest_first(
    session: AsyncSession, stmt: Select[Any], id_column: Any, *, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page of stmt's rows, highest id first, after the cursor's id; the rows and the next cursor."""
    position = decode_cursor(cursor, keys=("id",))
    stmt = stmt.order_by(id_column.desc()).limit(limit + 1)
    if position is not None:
        try:
            stmt = stmt.where(id_column < int(position["id"]))
        except (TypeError, ValueError):
            raise InvalidCursor() from None
    rows = list((await session.execute(stmt)).scalars())
    return rows[:limit], encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
