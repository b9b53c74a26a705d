"""Gateways' own health: `GET /v1/health/gateways` and one gateway, with status, last seen and camera counts.

A gateway (an NVR, or a probe agent) is offline once it has been silent for its own interval x
OFFLINE_FACTOR, as a camera is; `unknown` before its first report, `maintenance` with that lifecycle.
Planned and decommissioned gateways are left out, as their cameras are. The liveness figures are the
registry's too (shared/gateway_liveness.py). A dark gateway and its dark cameras stay one incident
(evaluation.py); its open `gateway` incident, if any, is named here so a console can link the two.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.refs import gateway_id
from services.health.schemas import GatewayHealthRead, GatewayStatus
from services.health.settings import get_health_settings
from shared.errors import NotFound
from shared.gateway_liveness import GatewayLiveness, gateway_liveness
from shared.models import SERVED_LIFECYCLES, Gateway, Incident
from shared.pagination import code_after, code_page


def gateway_status(gateway: Gateway, liveness: GatewayLiveness, *, now: datetime, factor: float) -> GatewayStatus:
    """online, offline (silent past interval x factor), unknown (never heard) or maintenance."""
    if gateway.lifecycle == "maintenance":
        return "maintenance"
    if liveness.last_seen_at is None:
        return "unknown"
    silent_after = timedelta(seconds=gateway.heartbeat_interval_s * factor)
    return "offline" if liveness.last_seen_at + silent_after < now else "online"


async def _open_incidents(session: AsyncSession, gateway_ids: list[uuid.UUID]) -> dict[str, int]:
    stmt = select(Incident.scope, Incident.id).where(
        Incident.kind == "gateway", Incident.state == "open", Incident.scope.in_([str(g) for g in gateway_ids])
    )
    return {scope: incident_id for scope, incident_id in (await session.execute(stmt)).all()}


async def _reads(session: AsyncSession, gateways: list[Gateway]) -> list[GatewayHealthRead]:
    liveness = await gateway_liveness(session, gateway_ids=[g.id for g in gateways])
    incidents = await _open_incidents(session, [g.id for g in gateways])
    factor = get_health_settings().offline_factor
    now = datetime.now(UTC)
    return [
        GatewayHealthRead(
            id=g.id,
            code=g.code,
            name=g.name,
            kind=g.kind,
            district=g.district,
            ward=g.ward,
            lifecycle=g.lifecycle,
            heartbeat_interval_s=g.heartbeat_interval_s,
            offline_after_s=g.heartbeat_interval_s * factor,
            status=gateway_status(g, liveness[g.id], now=now, factor=factor),
            liveness=liveness[g.id],
            incident_id=incidents.get(str(g.id)),
        )
        for g in gateways
    ]


async def list_gateways(
    session: AsyncSession, *, district: str | None, limit: int, cursor: str | None
) -> tuple[list[GatewayHealthRead], str | None]:
    """The watched gateways in code order, one keyset page, each with its status and liveness."""
    stmt = select(Gateway).where(Gateway.lifecycle.in_(SERVED_LIFECYCLES)).order_by(Gateway.code).limit(limit + 1)
    if district is not None:
        stmt = stmt.where(Gateway.district == district)
    after = code_after(cursor)
    if after is not None:
        stmt = stmt.where(Gateway.code > after)
    rows, next_cursor = code_page(list((await session.execute(stmt)).scalars()), limit)
    return await _reads(session, rows), next_cursor


async def gateway_health(session: AsyncSession, *, ref: str) -> GatewayHealthRead:
    """One watched gateway by id or code; 404 when there is none or health leaves it out."""
    found = await gateway_id(session, ref)
    gateway = await session.get(Gateway, found) if found is not None else None
    if gateway is None:
        raise NotFound(f"no gateway with id or code {ref!r}")
    if gateway.lifecycle not in SERVED_LIFECYCLES:
        raise NotFound(f"gateway {gateway.code} is {gateway.lifecycle} and left out of health")
    (read,) = await _reads(session, [gateway])
    return read
