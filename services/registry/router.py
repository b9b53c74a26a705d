"""Registry endpoints; the logic lives in service.py."""

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status

from services.registry import service
from services.registry.dependencies import CameraDep
from services.registry.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AreaRead,
    CameraCreate,
    CameraCreated,
    CameraRead,
)
from shared.auth import Admin, RegistryReader, RegistryWriter
from shared.db import SessionDep
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1")


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


@router.post(
    "/cameras",
    status_code=status.HTTP_201_CREATED,
    tags=["cameras"],
    summary="Register a camera",
    responses={409: {"description": "A camera with this code exists"}},
)
async def create_camera(
    data: CameraCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: RegistryWriter,
) -> CameraCreated:
    camera, token = await service.create_camera(
        session, data=data, principal=principal, request_id=_request_id(request)
    )
    response.headers["Location"] = f"/v1/cameras/{camera.id}"
    response.headers["ETag"] = service.camera_etag(camera)
    return CameraCreated(**service.camera_read(camera).model_dump(), device_token=token)


@router.get(
    "/cameras/{camera}",
    tags=["cameras"],
    summary="One camera, by id or code",
    responses={404: {"description": "No such camera"}},
)
async def get_camera(camera: CameraDep, response: Response, principal: RegistryReader) -> CameraRead:
    response.headers["ETag"] = service.camera_etag(camera)
    return service.camera_read(camera)


@router.get("/areas", tags=["areas"], summary="Reference areas (districts, wards)")
async def list_areas(
    session: SessionDep,
    principal: RegistryReader,
    level: Literal["city", "district", "ward"] | None = None,
    parent: str | None = Query(default=None, max_length=32),
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[AreaRead]:
    items, next_cursor = await service.list_areas(session, level=level, parent=parent, limit=limit, cursor=cursor)
    return Page[AreaRead](items=items, next_cursor=next_cursor)


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    tags=["api-keys"],
    summary="Create an API key",
)
async def create_api_key(data: ApiKeyCreate, session: SessionDep, principal: Admin) -> ApiKeyCreated:
    return await service.create_api_key(session, data=data)


@router.get("/api-keys", tags=["api-keys"], summary="List API keys")
async def list_api_keys(
    session: SessionDep,
    principal: Admin,
    include_revoked: bool = False,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ApiKeyRead]:
    items, next_cursor = await service.list_api_keys(
        session, include_revoked=include_revoked, limit=limit, cursor=cursor
    )
    return Page[ApiKeyRead](items=items, next_cursor=next_cursor)


@router.get(
    "/api-keys/{key_id}",
    tags=["api-keys"],
    summary="One API key",
    responses={404: {"description": "No such key"}},
)
async def get_api_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> ApiKeyRead:
    return service.api_key_read(await service.get_api_key(session, key_id=key_id))


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["api-keys"],
    summary="Revoke an API key",
    responses={
        404: {"description": "No such key"},
        409: {"description": "A key cannot revoke itself"},
    },
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> Response:
    await service.revoke_api_key(session, key_id=key_id, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
