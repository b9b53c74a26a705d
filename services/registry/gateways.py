"""Gateways (NVRs): their own device tokens, edits with If-Match, decommissioning and audit."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.schemas import GATEWAY_REQUIRED, DeviceTokenIssued, GatewayCreate, GatewayRead
from services.registry.service import (
    MASK,
    audit_value,
    check_if_match,
    check_location,
    code_after,
    created,
    diff,
    issue_token,
    notify_device_changed,
    record_change,
    revoke_tokens,
)
from shared.auth import Principal
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import Gateway
from shared.pagination import encode_cursor

# The audited fields, in the API's order; id and the timestamps are the database's.
GATEWAY_FIELDS = tuple(
    name for name in GatewayRead.model_fields if name not in ("id", "created_at", "updated_at", "version")
)


def gateway_read(gateway: Gateway) -> GatewayRead:
    """A gateway as the API returns it."""
    return GatewayRead(
        **{name: getattr(gateway, name) for name in GatewayRead.model_fields if name != "ip"},
        ip=str(gateway.ip) if gateway.ip is not None else None,
    )


def gateway_etag(gateway: Gateway) -> str:
    """A strong ETag that changes with every version of the gateway."""
    return f'"{gateway.id.hex}-{gateway.version}"'


def gateway_state(gateway: Gateway) -> dict[str, Any]:
    """The audited fields of a gateway."""
    return {name: audit_value(getattr(gateway, name)) for name in GATEWAY_FIELDS}


async def get_gateway(session: AsyncSession, *, ref: str, for_update: bool = False) -> Gateway:
    """The gateway with this id or code; 404 when there is none."""
    try:
        condition = Gateway.id == uuid.UUID(ref)
    except ValueError:
        condition = Gateway.code == ref
    stmt = select(Gateway).where(condition)
    if for_update:
        stmt = stmt.with_for_update()
    gateway = await session.scalar(stmt)
    if gateway is None:
        raise NotFound(f"no gateway with id or code {ref!r}")
    return gateway


async def create_gateway(
    session: AsyncSession, *, data: GatewayCreate, principal: Principal, request_id: str | None
) -> tuple[Gateway, str]:
    """Register a gateway with its own device token; 409 when the code is taken."""
    principal.require_district(data.district)
    await check_location(session, district=data.district, ward=data.ward)
    if await session.scalar(select(Gateway.id).where(Gateway.code == data.code)) is not None:
        raise Conflict(f"a gateway with code {data.code!r} already exists")
    values = data.model_dump()
    values["ip"] = str(data.ip) if data.ip is not None else None
    gateway = Gateway(id=uuid.uuid4(), **values, version=1)
    session.add(gateway)
    await session.flush()
    issued = issue_token(session, gateway_id=gateway.id)
    await record_change(
        session,
        principal=principal,
        request_id=request_id,
        action="create",
        gateway_id=gateway.id,
        changes=created(gateway_state(gateway)),
    )
    await session.flush()
    await session.refresh(gateway)
    return gateway, issued.secret


async def list_gateways(
    session: AsyncSession,
    *,
    district: str | None,
    lifecycle: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Gateway], str | None]:
    """Gateways ordered by code, one keyset page."""
    after = code_after(cursor)
    stmt = select(Gateway).order_by(Gateway.code).limit(limit + 1)
    if district is not None:
        stmt = stmt.where(Gateway.district == district)
    if lifecycle is not None:
        stmt = stmt.where(Gateway.lifecycle == lifecycle)
    if after is not None:
        stmt = stmt.where(Gateway.code > after)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def update_gateway(
    session: AsyncSession,
    *,
    ref: str,
    fields: Mapping[str, Any],
    principal: Principal,
    request_id: str | None,
    if_match: list[str] | None,
    action: str = "update",
) -> Gateway:
    """PATCH (or decommission): lock, check If-Match, scope and location, apply, audit and notify."""
    gateway = await get_gateway(session, ref=ref, for_update=True)
    check_if_match(if_match, gateway_etag(gateway))
    principal.require_district(gateway.district)
    for name in GATEWAY_REQUIRED & fields.keys():
        if fields[name] is None:
            raise ValidationFailed(f"{name} cannot be null", errors=[{"loc": [name], "msg": "cannot be null"}])
    district = fields.get("district", gateway.district)
    if district != gateway.district:
        principal.require_district(district)
    if "district" in fields or "ward" in fields:
        await check_location(session, district=district, ward=fields.get("ward", gateway.ward))
    lifecycle = fields.get("lifecycle", gateway.lifecycle)
    if gateway.lifecycle == "decommissioned" and lifecycle != "decommissioned":
        raise Conflict("a decommissioned gateway cannot come back; register it again under a new code")
    new_code = fields.get("code", gateway.code)
    if new_code != gateway.code and await session.scalar(select(Gateway.id).where(Gateway.code == new_code)):
        raise Conflict(f"a gateway with code {fields['code']!r} already exists")
    before = gateway_state(gateway)
    for name, value in fields.items():
        setattr(gateway, name, str(value) if name == "ip" and value is not None else value)
    changes = diff(before, gateway_state(gateway))
    if changes:
        gateway.version += 1
        gateway.updated_at = func.now()
        if "lifecycle" in changes and lifecycle == "decommissioned":
            await revoke_tokens(session, gateway_id=gateway.id)
        await record_change(
            session,
            principal=principal,
            request_id=request_id,
            action=action,
            gateway_id=gateway.id,
            changes=changes,
            unconditional=if_match is None,
        )
        await notify_device_changed(session, kind="gateway", ids=[gateway.id])
    await session.flush()
    await session.refresh(gateway)
    return gateway


async def gateway_token(
    session: AsyncSession, *, ref: str, principal: Principal, request_id: str | None, issue_new: bool
) -> DeviceTokenIssued | None:
    """Revoke the gateway's live token and, when issue_new, issue a new one (shown once)."""
    gateway = await get_gateway(session, ref=ref, for_update=True)
    principal.require_district(gateway.district)
    if issue_new and gateway.lifecycle == "decommissioned":
        raise Conflict("a decommissioned gateway gets no device token")
    await revoke_tokens(session, gateway_id=gateway.id)
    await session.flush()
    issued = issue_token(session, gateway_id=gateway.id) if issue_new else None
    await record_change(
        session,
        principal=principal,
        request_id=request_id,
        action="rotate-token" if issue_new else "revoke-token",
        gateway_id=gateway.id,
        changes={"device_token": {"from": MASK, "to": MASK if issue_new else None}},
    )
    await notify_device_changed(session, kind="gateway", ids=[gateway.id])
    await session.flush()
    if issued is None:
        return None
    return DeviceTokenIssued(id=gateway.id, code=gateway.code, device_token=issued.secret, prefix=issued.prefix)
