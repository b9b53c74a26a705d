"""API keys: issued with the secret shown once, listed, revoked (and kept for the audit trail)."""

import uuid
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from shared.auth import Principal
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import ApiKey, Area
from shared.pagination import InvalidCursor, decode_cursor, encode_cursor
from shared.tokens import issue_api_key


def api_key_read(key: ApiKey) -> ApiKeyRead:
    """An API key as the API returns it (never its hash)."""
    return ApiKeyRead.model_validate(key, from_attributes=True)


async def create_api_key(session: AsyncSession, *, data: ApiKeyCreate) -> ApiKeyCreated:
    """Issue a key; the secret is in the reply only."""
    if data.districts:
        known = set((await session.execute(select(Area.code).where(Area.code.in_(data.districts)))).scalars())
        unknown = [d for d in data.districts if d not in known]
        if unknown:
            raise ValidationFailed(
                f"unknown district {unknown[0]!r}",
                errors=[{"loc": ["districts"], "msg": f"unknown: {unknown}"}],
            )
    issued = issue_api_key()
    key = ApiKey(
        name=data.name,
        role=data.role,
        districts=sorted(set(data.districts)) if data.districts else None,
        prefix=issued.prefix,
        key_hash=issued.hash,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return ApiKeyCreated(**api_key_read(key).model_dump(), key=issued.secret)


async def list_api_keys(
    session: AsyncSession, *, include_revoked: bool, limit: int, cursor: str | None
) -> tuple[list[ApiKeyRead], str | None]:
    """API keys, oldest first, one keyset page."""
    position = decode_cursor(cursor, keys=("created_at", "id"))
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id).limit(limit + 1)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    if position is not None:
        try:
            after_id = uuid.UUID(str(position["id"]))
            after_at = datetime.fromisoformat(str(position["created_at"]))
        except ValueError:
            raise InvalidCursor() from None
        stmt = stmt.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(after_at, after_id))
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"created_at": last.created_at.isoformat(), "id": str(last.id)})
    return [api_key_read(row) for row in rows[:limit]], next_cursor


async def get_api_key(session: AsyncSession, *, key_id: uuid.UUID) -> ApiKey:
    """One API key; 404 when unknown."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


async def revoke_api_key(session: AsyncSession, *, key_id: uuid.UUID, principal: Principal) -> None:
    """Revoke a key (kept for the audit trail); an admin cannot revoke the key it is using."""
    key = await get_api_key(session, key_id=key_id)
    if key.id == principal.key_id:
        raise Conflict("a key cannot revoke itself; use another admin key")
    if key.revoked_at is None:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=func.now()))
