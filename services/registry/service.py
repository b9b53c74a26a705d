"""Cameras: register, read, change (scope, location, lifecycle and audit), decommission, rotate the token.

The other concepts have their own modules: search.py (filters and pages), audit.py, device_tokens.py,
areas.py, gateways.py, api_keys.py, importer.py and export.py (CSV and JSON lines).
"""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.areas import LOCATION_FIELDS, AreaIndex, Current, Location, locate, resolve_location
from services.registry.audit import audit_value, diff, record_change
from services.registry.device_tokens import add_device, notify_device_changed, replace_token, revoke_tokens
from services.registry.devices import check_if_match, check_not_null, etag, get_device
from services.registry.masking import MASK, mask_stream_url, masked_stream_url, stream_values
from services.registry.schemas import (
    CAMERA_FIELDS,
    CAMERA_REQUIRED,
    CameraCreate,
    CameraRead,
    CameraUpdate,
    DeviceTokenIssued,
    LocationWarning,
)
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, ValidationFailed
from shared.models import Camera, Gateway

# CameraRead's fields that are read from the row as they are stored (the rest are converted).
_READ_AS_STORED = tuple(name for name in CameraRead.model_fields if name not in ("ip", "stream_url", "tags"))


def camera_read(camera: Camera) -> CameraRead:
    """A camera as the API returns it."""
    return CameraRead(
        **{name: getattr(camera, name) for name in _READ_AS_STORED},
        ip=str(camera.ip) if camera.ip is not None else None,
        stream_url=masked_stream_url(camera),
        tags=list(camera.tags or []),
    )


def camera_state(camera: Camera) -> dict[str, Any]:
    """The audited fields of a camera, stream credentials masked."""
    state = {field: audit_value(getattr(camera, field)) for field in CAMERA_FIELDS}
    state["stream_url"] = masked_stream_url(camera)
    return state


def values_state(values: Mapping[str, Any]) -> dict[str, Any]:
    """The audited fields of a camera's column values (as camera_state, without an ORM object)."""
    state = {name: audit_value(values.get(name)) for name in CAMERA_FIELDS}
    has_credentials = values.get("stream_credentials_hash") is not None
    state["stream_url"] = mask_stream_url(values.get("stream_url"), has_credentials=has_credentials)
    return state


async def get_camera(session: AsyncSession, *, ref: str, for_update: bool = False) -> Camera:
    """The camera with this id or code; 404 when there is none."""
    return await get_device(session, model=Camera, ref=ref, for_update=for_update)


async def check_gateway(session: AsyncSession, gateway_id: uuid.UUID | None) -> None:
    """422 unless the gateway exists and is not decommissioned."""
    if gateway_id is None:
        return
    gateway = await session.get(Gateway, gateway_id)
    if gateway is None or gateway.lifecycle == "decommissioned":
        raise ValidationFailed(
            f"unknown or decommissioned gateway {gateway_id}",
            errors=[{"loc": ["gateway_id"], "msg": "unknown or decommissioned gateway"}],
        )


def check_operator_change(principal: Principal, before: str, fields: Mapping[str, Any]) -> None:
    """An operator only moves a camera into or out of maintenance."""
    if principal.role != "operator":
        return
    if set(fields) - {"lifecycle"}:
        raise Forbidden("an operator key may only change lifecycle, into or out of maintenance")
    after = fields.get("lifecycle", before)
    if after != before and (
        "maintenance" not in (before, after) or "decommissioned" in (before, after) or after is None
    ):
        raise Forbidden("an operator key may only move a camera into or out of maintenance")


def new_camera_values(data: CameraCreate, location: Location) -> dict[str, Any]:
    """The column values of a new camera from a validated body (stream credentials split off and hashed)."""
    values = data.model_dump()
    values["district"], values["ward"] = location.district, location.ward
    values["stream_url"], values["stream_credentials_hash"] = stream_values(data.stream_url, None)
    values["ip"] = str(data.ip) if data.ip is not None else None
    values["id"] = uuid.uuid4()
    values["version"] = 1
    return values


async def create_camera(
    session: AsyncSession,
    *,
    data: CameraCreate,
    principal: Principal,
    request_id: str | None,
) -> tuple[Camera, str, list[LocationWarning]]:
    """Register a camera with a fresh device token; 409 when the code is taken. Also its location warnings."""
    location = await locate(
        session, given=data.model_dump(include={"district", "ward"}), current=None, point=new_point(data)
    )
    principal.require_district(location.district)
    await check_gateway(session, data.gateway_id)
    if await session.scalar(select(Camera.id).where(Camera.code == data.code)) is not None:
        raise Conflict(f"a camera with code {data.code!r} already exists")
    camera = Camera(**new_camera_values(data, location))
    secret = await add_device(session, device=camera, state=camera_state, principal=principal, request_id=request_id)
    return camera, secret, location.warnings


def new_point(data: CameraCreate) -> tuple[float, float]:
    """A new camera's (latitude, longitude)."""
    return data.latitude, data.longitude


async def apply_camera_update(
    session: AsyncSession,
    *,
    camera: Camera,
    fields: Mapping[str, Any],
    principal: Principal,
    request_id: str | None,
    action: str = "update",
    unconditional: bool = False,
    index: AreaIndex | None = None,
) -> tuple[dict[str, Any], list[LocationWarning]]:
    """Apply validated field values to a locked camera: scope, location, lifecycle and audit.

    The diff and the location's warnings; `index` holds the areas an import read once (else they are read).
    """
    principal.require_district(camera.district)
    check_operator_change(principal, camera.lifecycle, fields)
    check_not_null(fields, CAMERA_REQUIRED)
    warnings: list[LocationWarning] = []
    if LOCATION_FIELDS & fields.keys():
        current = Current(camera.district, camera.ward)
        point = (fields.get("latitude", camera.latitude), fields.get("longitude", camera.longitude))
        if index is None:
            location = await locate(session, given=fields, current=current, point=point)
        else:
            location = resolve_location(index, given=fields, current=current, point=point)
        fields = {**fields, "district": location.district, "ward": location.ward}
        warnings = location.warnings
    if fields.get("district", camera.district) != camera.district:
        principal.require_district(fields["district"])
    lifecycle = fields.get("lifecycle", camera.lifecycle)
    if camera.lifecycle == "decommissioned" and lifecycle != "decommissioned":
        raise Conflict("a decommissioned camera cannot come back; register it again under a new code")
    if "gateway_id" in fields and fields["gateway_id"] != camera.gateway_id:
        await check_gateway(session, fields["gateway_id"])
    if "code" in fields and fields["code"] != camera.code:
        taken = await session.scalar(select(Camera.id).where(Camera.code == fields["code"]))
        if taken is not None:
            raise Conflict(f"a camera with code {fields['code']!r} already exists")
    before = camera_state(camera)
    before_hash = camera.stream_credentials_hash
    for name, value in fields.items():
        if name == "stream_url":
            camera.stream_url, camera.stream_credentials_hash = stream_values(value, camera.stream_credentials_hash)
        elif name == "ip":
            camera.ip = str(value) if value is not None else None
        else:
            setattr(camera, name, value)
    changes = diff(before, camera_state(camera))
    if camera.stream_credentials_hash != before_hash:
        changes["stream_credentials"] = {
            "from": MASK if before_hash else None,
            "to": MASK if camera.stream_credentials_hash else None,
        }
    if not changes:
        return changes, warnings
    camera.version += 1
    camera.updated_at = func.now()
    if lifecycle == "decommissioned" and "lifecycle" in changes:
        await revoke_tokens(session, device=camera)
    await record_change(
        session,
        device=camera,
        principal=principal,
        request_id=request_id,
        action=action,
        changes=changes,
        unconditional=unconditional,
    )
    await notify_device_changed(session, device=camera)
    return changes, warnings


async def update_camera(
    session: AsyncSession,
    *,
    ref: str,
    data: CameraUpdate,
    principal: Principal,
    request_id: str | None,
    if_match: list[str] | None,
) -> tuple[Camera, list[LocationWarning]]:
    """PATCH: lock the row, check If-Match against its current version, apply and audit; its location warnings."""
    camera = await get_camera(session, ref=ref, for_update=True)
    check_if_match(if_match, etag(camera))
    fields = {name: getattr(data, name) for name in data.model_fields_set}
    _, warnings = await apply_camera_update(
        session,
        camera=camera,
        fields=fields,
        principal=principal,
        request_id=request_id,
        unconditional=if_match is None,
    )
    await session.flush()
    await session.refresh(camera)
    return camera, warnings


async def decommission_camera(
    session: AsyncSession, *, ref: str, principal: Principal, request_id: str | None, if_match: list[str] | None
) -> None:
    """DELETE: the camera is kept with lifecycle decommissioned and its token revoked."""
    camera = await get_camera(session, ref=ref, for_update=True)
    check_if_match(if_match, etag(camera))
    principal.require_district(camera.district)
    if camera.lifecycle == "decommissioned":
        return
    await apply_camera_update(
        session,
        camera=camera,
        fields={"lifecycle": "decommissioned"},
        principal=principal,
        request_id=request_id,
        action="decommission",
        unconditional=if_match is None,
    )
    await session.flush()


async def rotate_camera_token(
    session: AsyncSession, *, ref: str, principal: Principal, request_id: str | None
) -> DeviceTokenIssued:
    """Revoke the camera's token and issue a new one, in one transaction."""
    camera = await get_camera(session, ref=ref, for_update=True)
    issued = await replace_token(session, device=camera, principal=principal, request_id=request_id, issue_new=True)
    assert issued is not None  # issue_new always issues one
    return issued
