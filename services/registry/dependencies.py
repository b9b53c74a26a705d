"""Annotated dependencies of the registry routes."""

from typing import Annotated

from fastapi import Depends, Path

from services.registry import service
from shared.auth import RegistryReader
from shared.db import SessionDep
from shared.models import Camera

CameraRef = Annotated[str, Path(min_length=1, max_length=64, description="The camera's UUID or its code")]


async def camera_by_ref(camera: CameraRef, session: SessionDep, principal: RegistryReader) -> Camera:
    """The camera named in the path, by id or code; the caller is authenticated first so a
    missing key never learns whether a camera exists."""
    return await service.get_camera(session, ref=camera)


CameraDep = Annotated[Camera, Depends(camera_by_ref)]
