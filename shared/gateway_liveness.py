"""A gateway's own liveness, as the registry's gateway reads and health's gateway list both show it.

`gateway_state` is written by ingest on every batch from the gateway (an empty one is a keep-alive);
the camera counts are of the cameras registered behind it now, and the offline ones are those health's
evaluator holds offline (camera_health). One query per page of gateways, whichever service asks.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import SERVED_LIFECYCLES, Camera, CameraHealth, GatewayState


class GatewayLiveness(BaseModel):
    last_seen_at: datetime | None = Field(
        description="When the gateway's last batch (or empty keep-alive batch) arrived; null: never heard"
    )
    cameras_reported: int = Field(description="Heartbeats in that last batch")
    camera_count: int = Field(description="Cameras behind the gateway (lifecycle active or maintenance)")
    cameras_offline: int = Field(description="Of those, how many health holds offline now")


async def gateway_liveness(
    session: AsyncSession, *, gateway_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, GatewayLiveness]:
    """Each gateway's last report (none: never heard) and its cameras' count and offline count."""
    ids = list(gateway_ids)
    if not ids:
        return {}
    # Through camera's (gateway_id, code) index and camera_health's primary key: only these gateways' cameras.
    counts = (
        select(
            Camera.gateway_id,
            func.count(),
            func.count().filter(CameraHealth.status == "offline"),
        )
        .outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
        .where(Camera.gateway_id.in_(ids), Camera.lifecycle.in_(SERVED_LIFECYCLES))
        .group_by(Camera.gateway_id)
    )
    cameras = {row[0]: (row[1], row[2]) for row in (await session.execute(counts)).all()}
    states = select(GatewayState.gateway_id, GatewayState.received_at, GatewayState.cameras_reported).where(
        GatewayState.gateway_id.in_(ids)
    )
    seen = {row[0]: (row[1], row[2]) for row in (await session.execute(states)).all()}
    result = {}
    for gateway_id in ids:
        last_seen_at, reported = seen.get(gateway_id, (None, 0))
        count, offline = cameras.get(gateway_id, (0, 0))
        result[gateway_id] = GatewayLiveness(
            last_seen_at=last_seen_at, cameras_reported=reported, camera_count=count, cameras_offline=offline
        )
    return result
