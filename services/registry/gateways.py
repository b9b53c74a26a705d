"""Gateways (NVRs): their own device tokens, edits with If-Match, decommissioning and audit."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.areas import Current, locate
from services.registry.audit import audit_value, diff, record_change
from services.registry.device_tokens import add_device, notify_device_changed, replace_token, revoke_tokens
from services.registry.devices import check_if_match, check_not_null, etag, get_device
from services.registry.schemas import GATEWAY_FIELDS, GATEWAY_REQUIRED, DeviceTokenIssued, GatewayCreate, GatewayRead
from shared.auth import Principal
from shared.errors import Conflict
from shared.gateway_liveness import GatewayLiveness, gateway_liveness
from shared.models import Gateway
from shared.pagination import code_after, code_page


def gateway_read(gateway: Gateway, liveness: GatewayLiveness) -> GatewayRead:
    """A gateway as the API returns it."""
    return GatewayRead(
        **{name: getattr(gateway, name) for name in GatewayRead.model_fields if name not in ("ip", "liveness")},
        ip=str(gateway.ip) if gateway.ip is not None else None,
        liveness=liveness,
    )


async def gateway_reads(session: AsyncSession, *, gateways: list[Gateway]) -> list[GatewayRead]:
    """Gateways as the API returns them, each with its liveness (one query for all)."""
    liveness = await gateway_liveness(session, gateway_ids=[g.id for g in gateways])
    return [gateway_read(g, liveness[g.id]) for g in gateways]


def gateway_state(gateway: Gateway) -> dict[str, Any]:
    """The audited fields of a gateway."""
    return {name: audit_value(getattr(gateway, name)) for name in GATEWAY_FIELDS}


async def get_gateway(session: AsyncSession, *, ref: str, for_update: bool = False) -> Gateway:
    """The gateway with this id or code; 404 when there is none."""
    return await get_device(session, model=Gateway, ref=ref, for_update=for_update)


async def create_gateway(
    session: AsyncSession, *, data: GatewayCreate, principal: Principal, request_id: str | None
) -> tuple[Gateway, str]:
    """Register a gateway with its own device token; 409 when the code is taken."""
    principal.require_district(data.district)
    await locate(session, given={"district": data.district, "ward": data.ward}, current=None, point=None)
    if await session.scalar(select(Gateway.id).where(Gateway.code == data.code)) is not None:
        raise Conflict(f"a gateway with code {data.code!r} already exists")
    values = data.model_dump()
    values["ip"] = str(data.ip) if data.ip is not None else None
    gateway = Gateway(id=uuid.uuid4(), **values, version=1)
    secret = await add_device(session, device=gateway, state=gateway_state, principal=principal, request_id=request_id)
    return gateway, secret


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
    return code_page(list((await session.execute(stmt)).scalars()), limit)


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
    check_if_match(if_match, etag(gateway))
    principal.require_district(gateway.district)
    check_not_null(fields, GATEWAY_REQUIRED)
    if "district" in fields or "ward" in fields:
        # As for a camera: a ward alone brings its legacy district.
        location = await locate(session, given=fields, current=Current(gateway.district, gateway.ward), point=None)
        fields = {**fields, "district": location.district, "ward": location.ward}
    if fields.get("district", gateway.district) != gateway.district:
        principal.require_district(fields["district"])
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
            await revoke_tokens(session, device=gateway)
        await record_change(
            session,
            device=gateway,
            principal=principal,
            request_id=request_id,
            action=action,
            changes=changes,
            unconditional=if_match is None,
        )
        await notify_device_changed(session, device=gateway)
    await session.flush()
    await session.refresh(gateway)
    return gateway


async def gateway_token(
    session: AsyncSession, *, ref: str, principal: Principal, request_id: str | None, issue_new: bool
) -> DeviceTokenIssued | None:
    """Revoke the gateway's live token and, when issue_new, issue a new one (shown once)."""
    gateway = await get_gateway(session, ref=ref, for_update=True)
    return await replace_token(session, device=gateway, principal=principal, request_id=request_id, issue_new=issue_new)
