"""The calling gateway's own camera list: `GET /v1/gateways/self/cameras`, by its device token.

What a gateway or probe agent needs to do its job and nothing more: code, id, ip, the stream URL with
its credentials masked (they never leave the registry; a probe agent has the agency's own), and the
heartbeat interval, with a version that changes whenever a camera joins, leaves or changes, so the
agent's refresh of an unchanged list costs one aggregate query and a 304.
"""

import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.masking import masked_stream_url
from services.registry.schemas import GatewayCameraRead
from shared.errors import Forbidden, Unauthorized
from shared.models import SERVED_LIFECYCLES, Camera, DeviceCredential, Gateway
from shared.tokens import bearer_token, hash_secret


async def authenticate_gateway(session: AsyncSession, *, authorization: str | None) -> Gateway:
    """The gateway whose live device token is presented; 401 for none or an unknown or revoked one,
    403 for a camera's token or a decommissioned gateway."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized("a gateway device token is required: Authorization: Bearer <token>")
    credential = await session.scalar(
        select(DeviceCredential).where(
            DeviceCredential.token_hash == hash_secret(token), DeviceCredential.revoked_at.is_(None)
        )
    )
    if credential is None:
        raise Unauthorized("the device token is unknown or revoked")
    if credential.gateway_id is None:
        raise Forbidden("this is a camera's token; the list is for the gateway in front of the cameras")
    gateway = await session.get(Gateway, credential.gateway_id)
    if gateway is None or gateway.lifecycle == "decommissioned":
        raise Forbidden("the gateway is decommissioned")
    return gateway


async def cameras_version(session: AsyncSession, *, gateway_id: uuid.UUID) -> str:
    """A digest of which cameras are behind the gateway and their versions: it changes with any of them."""
    digest = await session.scalar(
        text(
            "SELECT md5(coalesce(string_agg(id::text || ':' || version, ',' ORDER BY id), ''))"
            " FROM camera WHERE gateway_id = :gateway AND lifecycle = ANY(:lifecycles)"
        ),
        {"gateway": gateway_id, "lifecycles": list(SERVED_LIFECYCLES)},
    )
    return str(digest)


async def gateway_cameras(session: AsyncSession, *, gateway_id: uuid.UUID) -> list[GatewayCameraRead]:
    """The active and maintenance cameras behind the gateway, by code, stream credentials masked."""
    rows = await session.scalars(
        select(Camera)
        .where(Camera.gateway_id == gateway_id, Camera.lifecycle.in_(SERVED_LIFECYCLES))
        .order_by(Camera.code)
    )
    return [
        GatewayCameraRead(
            id=c.id,
            code=c.code,
            ip=str(c.ip) if c.ip is not None else None,
            stream_url=masked_stream_url(c),
            heartbeat_interval_s=c.heartbeat_interval_s,
            vendor=c.vendor,
            model=c.model,
            lifecycle=c.lifecycle,
        )
        for c in rows
    ]
