"""Annotated dependencies of the registry routes."""

import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Query

from services.registry import service
from shared.auth import RegistryReader
from shared.db import SessionDep
from shared.geo import parse_bbox, parse_near
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
        bbox=parse_bbox(bbox),
        near=parse_near(near, radius_m),
        radius_m=radius_m,
    )


CameraFiltersDep = Annotated[service.CameraFilters, Depends(camera_filters)]
