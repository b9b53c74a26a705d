"""The audit trail of cameras and gateways: who changed which field, in which request, from what to what."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.devices import Device, device_owner
from services.registry.schemas import ChangeRead
from shared.auth import Principal
from shared.models import CameraChange
from shared.pagination import InvalidCursor, decode_cursor, encode_cursor


def audit_value(value: Any) -> Any:
    """A JSON-safe, comparable form of a field value (timestamps in UTC)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (list, tuple)):
        return [audit_value(v) for v in value]
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{"field": {"from", "to"}} for every field whose value differs."""
    return {k: {"from": before.get(k), "to": after.get(k)} for k in after if before.get(k) != after.get(k)}


def created(state: Mapping[str, Any]) -> dict[str, Any]:
    """The audited changes of a new camera or gateway: each field that has a value, from nothing."""
    return diff({}, {k: v for k, v in state.items() if v not in (None, [])})


def change_row(
    owner: Mapping[str, uuid.UUID],
    *,
    principal: Principal,
    request_id: str | None,
    action: str,
    changes: dict[str, Any],
    unconditional: bool = False,
) -> dict[str, Any]:
    """The column values of one audit record of `owner` (device_owner's {"camera_id": id} or {"gateway_id": id})."""
    return {
        **owner,
        "action": action,
        "actor": principal.name,
        "api_key_id": principal.key_id,
        "request_id": request_id,
        "changes": changes,
        "unconditional": unconditional,
    }


async def record_change(
    session: AsyncSession,
    *,
    device: Device,
    principal: Principal,
    request_id: str | None,
    action: str,
    changes: dict[str, Any],
    unconditional: bool = False,
) -> None:
    """Append one audit record: who, which request, and each field from -> to."""
    row = change_row(
        device_owner(device),
        principal=principal,
        request_id=request_id,
        action=action,
        changes=changes,
        unconditional=unconditional,
    )
    session.add(CameraChange(**row))


async def list_changes(
    session: AsyncSession, *, device: Device, limit: int, cursor: str | None
) -> tuple[list[ChangeRead], str | None]:
    """A camera's or gateway's audit trail, newest first, one keyset page."""
    position = decode_cursor(cursor, keys=("id",))
    stmt = select(CameraChange).filter_by(**device_owner(device)).order_by(CameraChange.id.desc()).limit(limit + 1)
    if position is not None:
        if not isinstance(position["id"], int) or isinstance(position["id"], bool):
            raise InvalidCursor()
        stmt = stmt.where(CameraChange.id < position["id"])
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return [ChangeRead.model_validate(r, from_attributes=True) for r in rows[:limit]], next_cursor
