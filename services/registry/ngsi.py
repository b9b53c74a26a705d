"""FIWARE Smart Data Models export: each camera as an NGSI-LD `Camera` and a `Device` entity, keyValues form.

The `Camera` (dataModel.Device/Camera) says what the camera is and where; the `Device` (dataModel.Device/Device)
says how it is doing: `deviceState` is health's verdict (camera_health), `dateLastValueReported` and the
reported firmware come from ingest's newest heartbeat (camera_state). The registry only reads those two
tables (they belong to the shared schema); it never asks the health service. The mapping is in the README.
"""

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.masking import masked_stream_url
from services.registry.search import CameraFilters, camera_page
from shared.models import Area, Camera, CameraHealth, CameraState

MEDIA_TYPE = "application/ld+json"
# The models' own context first, the NGSI-LD core context last (the core context's terms win otherwise).
CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Device/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
]
CITY = "HCM"
# The models' enums name only some of our kinds: the others are left out rather than guessed.
CAMERA_TYPES = {"fixed": "FIXED", "ptz": "PTZ", "dome": "DOME"}
CAMERA_USAGES = {"anpr": "ANPR/LPR", "speed": "TRAFFIC"}
# Device requires controlledProperty, from an enum without "video": the nearest term per kind.
CONTROLLED_PROPERTIES = {"speed": ["speed"], "anpr": ["trafficFlow"]}
DEFAULT_CONTROLLED_PROPERTY = ["motion"]
# Health's statuses in which the camera is known to be up, and the one in which it is known to be down.
ON_STATUSES = ("online", "degraded")
OFF_STATUS = "offline"
# Lifecycles health leaves out: their deviceState is the lifecycle itself.
UNWATCHED_LIFECYCLES = ("planned", "decommissioned")


@dataclass(frozen=True)
class Observed:
    """What health and ingest know of a camera."""

    status: str | None = None
    last_reported: datetime | None = None
    firmware: str | None = None


def entity_id(model: str, camera_id: uuid.UUID) -> str:
    """The NGSI-LD URN of a camera's entity of this model (by UUID: a code can change)."""
    return f"urn:ngsi-ld:{model}:{camera_id}"


def rfc3339(moment: datetime | None) -> str | None:
    """A timestamp in UTC with a Z, as the models' date-time properties want it."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def area_names(session: AsyncSession) -> dict[str, str]:
    """Every area's name by code (a few hundred rows, read once per export)."""
    return {code: name for code, name in (await session.execute(select(Area.code, Area.name))).all()}


async def observed(session: AsyncSession, *, camera_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Observed]:
    """Health's verdict and the newest heartbeat's time and firmware of each of these cameras."""
    ids = list(camera_ids)
    stmt = (
        select(Camera.id, CameraHealth.status, CameraState.received_at, CameraState.__table__.c.firmware)
        .outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
        .outerjoin(CameraState, CameraState.camera_id == Camera.id)
        .where(Camera.id.in_(ids))
    )
    return {row[0]: Observed(row[1], row[2], row[3]) for row in (await session.execute(stmt)).all()}


def _address(camera: Camera, names: dict[str, str]) -> dict[str, str]:
    address = {
        "addressCountry": "VN",
        "addressRegion": names.get(CITY, CITY),
        "district": names.get(camera.district, camera.district),
    }
    if camera.ward is not None:
        address["addressLocality"] = names.get(camera.ward, camera.ward)
    if camera.address:
        address["streetAddress"] = camera.address
    return address


def _compact(entity: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in entity.items() if value is not None}


def device_state(camera: Camera, seen: Observed) -> str:
    """The Device's deviceState: health's status, or the lifecycle of a camera health leaves out."""
    if seen.status is not None:
        return seen.status
    return camera.lifecycle if camera.lifecycle in UNWATCHED_LIFECYCLES else "unknown"


def entities(camera: Camera, seen: Observed, names: dict[str, str]) -> list[dict[str, Any]]:
    """The camera's `Camera` and `Device` entities (keyValues, each with its @context)."""
    camera_urn = entity_id("Camera", camera.id)
    device_urn = entity_id("Device", camera.id)
    common = {
        "name": camera.name,
        "location": {"type": "Point", "coordinates": [camera.longitude, camera.latitude]},
        "address": _address(camera, names),
        "dateCreated": rfc3339(camera.created_at),
        "dateModified": rfc3339(camera.updated_at),
        "dataProvider": "citycam",
    }
    on = True if seen.status in ON_STATUSES else False if seen.status == OFF_STATUS else None
    camera_entity = {
        "id": camera_urn,
        "type": "Camera",
        **common,
        "cameraName": camera.code,
        "cameraType": CAMERA_TYPES.get(camera.kind),
        "cameraUsage": CAMERA_USAGES.get(camera.kind),
        "streamURL": masked_stream_url(camera),
        "on": on,
        "refDevice": device_urn,
        "@context": CONTEXT,
    }
    device_entity = {
        "id": device_urn,
        "type": "Device",
        **common,
        "alternateName": camera.code,
        "deviceCategory": ["multimedia"],
        "controlledProperty": CONTROLLED_PROPERTIES.get(camera.kind, DEFAULT_CONTROLLED_PROPERTY),
        "controlledAsset": [camera_urn],
        "deviceState": device_state(camera, seen),
        "dateLastValueReported": rfc3339(seen.last_reported),
        "ipAddress": [str(camera.ip)] if camera.ip is not None else None,
        "firmwareVersion": seen.firmware or camera.firmware,
        "dateInstalled": rfc3339(camera.installed_at),
        "@context": CONTEXT,
    }
    return [_compact(camera_entity), _compact(device_entity)]


async def camera_entities(session: AsyncSession, *, camera: Camera) -> bytes:
    """One camera's two entities as a JSON-LD array."""
    seen = (await observed(session, camera_ids=[camera.id])).get(camera.id, Observed())
    return msgspec.json.encode(entities(camera, seen, await area_names(session)))


async def export_ngsi(
    sessionmaker: async_sessionmaker[AsyncSession], *, filters: CameraFilters, page: int = 1000
) -> AsyncIterator[bytes]:
    """The matching cameras' entities as one JSON-LD array, streamed a keyset page at a time."""
    async with sessionmaker() as session:
        names = await area_names(session)
    yield b"["
    after: str | None = None
    first = True
    while True:
        async with sessionmaker() as session:
            cameras = await camera_page(session, filters=filters, limit=page, after=after)
            seen = await observed(session, camera_ids=[c.id for c in cameras])
        chunk = b",\n".join(
            msgspec.json.encode(entity)
            for camera in cameras
            for entity in entities(camera, seen.get(camera.id, Observed()), names)
        )
        if chunk:
            yield chunk if first else b",\n" + chunk
            first = False
        if len(cameras) < page:
            break
        after = cameras[-1].code
    yield b"]\n"
