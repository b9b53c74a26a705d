"""What cameras and gateways share as resources: found by id or code, a version that makes an ETag for
If-Match, and the fields a change may not clear."""

import uuid
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import NotFound, PreconditionFailed, ValidationFailed
from shared.models import Camera, Gateway

Device = Camera | Gateway
AnyDevice = TypeVar("AnyDevice", Camera, Gateway)


def device_kind(device: Device) -> Literal["camera", "gateway"]:
    """What the device is, as messages, NOTIFY payloads and audit columns name it."""
    return "camera" if isinstance(device, Camera) else "gateway"


def device_owner(device: Device) -> dict[str, uuid.UUID]:
    """The device as the owner of a token or an audit record: {"camera_id": id} or {"gateway_id": id}."""
    return {"camera_id": device.id} if isinstance(device, Camera) else {"gateway_id": device.id}


async def get_device(session: AsyncSession, *, model: type[AnyDevice], ref: str, for_update: bool = False) -> AnyDevice:
    """The camera or gateway with this id or code; 404 when there is none."""
    try:
        condition = model.id == uuid.UUID(ref)
    except ValueError:
        condition = model.code == ref
    stmt = select(model).where(condition)
    if for_update:
        stmt = stmt.with_for_update()
    device = await session.scalar(stmt)
    if device is None:
        raise NotFound(f"no {model.__tablename__} with id or code {ref!r}")
    return device


def etag(device: Device) -> str:
    """A strong ETag that changes with every version of the camera or gateway."""
    return f'"{device.id.hex}-{device.version}"'


def parse_if_match(header: str | None) -> list[str] | None:
    """The entity tags of an If-Match header (None when absent).

    If-Match uses the strong comparison (RFC 9110 13.1.1): a weak tag never matches, so it is kept
    with its W/ prefix and can never equal the (strong) current ETag.
    """
    if header is None:
        return None
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def check_if_match(if_match: list[str] | None, current: str) -> None:
    """412 unless the If-Match tags include the current ETag (or *)."""
    if if_match is not None and "*" not in if_match and current not in if_match:
        raise PreconditionFailed(
            "the camera or gateway changed since it was read (stale If-Match); GET it again and retry",
            headers={"ETag": current},
        )


def check_not_null(fields: Mapping[str, Any], required: frozenset[str]) -> None:
    """422 for an explicit null on a field the database keeps NOT NULL (a PATCH never clears one)."""
    for name in required & fields.keys():
        if fields[name] is None:
            raise ValidationFailed(f"{name} cannot be null", errors=[{"loc": [name], "msg": "cannot be null"}])
