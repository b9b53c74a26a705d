"""What a query names, resolved: a camera or gateway by id or code, statuses by name (422 when unknown)."""

import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import NotFound, ValidationFailed
from shared.models import STATUSES, Camera


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
