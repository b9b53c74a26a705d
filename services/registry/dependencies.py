"""Annotated dependencies of the registry routes."""

import math
import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Query

from services.registry import service
from shared.auth import RegistryReader
from shared.db import SessionDep
from shared.errors import ValidationFailed
from shared.models import Camera, CameraKind, Lifecycle

CameraRef = Annotated[str, Path(min_length=1, max_length=64, description="The camera's UUID or its code")]
GatewayRef = Annotated[str, Path(min_length=1, max_length=64, description="The gateway's UUID or its code")]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=512,
        description="The ETag from a GET; a stale one gets 412 (without it, the change is recorded as unconditional)",
    ),
]
Text200 = Annotated[str | None, Query(min_length=1, max_length=200)]


async def camera_by_ref(camera: CameraRef, session: SessionDep, principal: RegistryReader) -> Camera:
    """The camera named in the path, by id or code; the caller is authenticated first so a
    missing key never learns whether a camera exists."""
    return await service.get_camera(session, ref=camera)


CameraDep = Annotated[Camera, Depends(camera_by_ref)]


def _numbers(raw: str, count: int, name: str) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(parts) != count or len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValidationFailed(
            f"{name} must be {count} comma-separated numbers",
            errors=[{"loc": ["query", name], "msg": f"expected {count} comma-separated finite numbers"}],
        )
    return values


def _check_range(name: str, lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed(
            f"{name}: latitude must be within -90..90 and longitude within -180..180",
            errors=[{"loc": ["query", name], "msg": "coordinates out of range"}],
        )


def camera_filters(
    district: Annotated[str | None, Query(max_length=32, description="District area code")] = None,
    ward: Annotated[str | None, Query(max_length=32, description="Ward area code")] = None,
    lifecycle: Lifecycle | None = None,
    kind: CameraKind | None = None,
    vendor: Text200 = None,
    model: Text200 = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    owner: Text200 = None,
    gateway_id: uuid.UUID | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words to find in code, name, address or road; accents and case are ignored (empty: no filter)",
        ),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(max_length=200, description="minLon,minLat,maxLon,maxLat", examples=["106.69,10.77,106.71,10.79"]),
    ] = None,
    near: Annotated[str | None, Query(max_length=100, description="lat,lon; needs radius_m")] = None,
    radius_m: Annotated[
        float | None, Query(gt=0, le=100_000, allow_inf_nan=False, description="Metres around near")
    ] = None,
) -> service.CameraFilters:
    """The list/export filters, with bbox and near parsed and checked."""
    box = None
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = _numbers(bbox, 4, "bbox")
        _check_range("bbox", min_lat, min_lon)
        _check_range("bbox", max_lat, max_lon)
        if min_lon > max_lon or min_lat > max_lat:
            raise ValidationFailed(
                "bbox must be minLon,minLat,maxLon,maxLat with min <= max",
                errors=[{"loc": ["query", "bbox"], "msg": "min must not exceed max"}],
            )
        box = (min_lon, min_lat, max_lon, max_lat)
    point = None
    if (near is None) != (radius_m is None):
        raise ValidationFailed(
            "near and radius_m go together",
            errors=[{"loc": ["query", "near" if near is None else "radius_m"], "msg": "near and radius_m go together"}],
        )
    if near is not None:
        lat, lon = _numbers(near, 2, "near")
        _check_range("near", lat, lon)
        point = (lat, lon)
    return service.CameraFilters(
        district=district,
        ward=ward,
        lifecycle=lifecycle,
        kind=kind,
        vendor=vendor,
        model=model,
        tag=tag,
        owner=owner,
        gateway_id=gateway_id,
        q=q,
        bbox=box,
        near=point,
        radius_m=radius_m,
    )


CameraFiltersDep = Annotated[service.CameraFilters, Depends(camera_filters)]
