"""Console reads beyond the health API's own: a camera's registry fields."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.console.schemas import CameraDevice
from services.health.refs import find_camera
from shared.models import Gateway


async def camera_device(session: AsyncSession, *, ref: str) -> CameraDevice:
    """The registry fields of a camera for its detail panel (the stream URL as stored: no credentials)."""
    camera = await find_camera(session, ref)
    gateway_code = None
    if camera.gateway_id is not None:
        gateway_code = await session.scalar(select(Gateway.code).where(Gateway.id == camera.gateway_id))
    return CameraDevice(
        id=camera.id,
        code=camera.code,
        name=camera.name,
        address=camera.address,
        road=camera.road,
        direction=camera.direction,
        kind=camera.kind,
        vendor=camera.vendor,
        model=camera.model,
        firmware=camera.firmware,
        ip=str(camera.ip) if camera.ip is not None else None,
        stream_url=camera.stream_url,
        stream_credentials=camera.stream_credentials_hash is not None,
        lifecycle=camera.lifecycle,
        owner=camera.owner,
        gateway_code=gateway_code,
        tags=list(camera.tags),
        installed_at=camera.installed_at,
    )
