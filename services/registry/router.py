"""Registry endpoints; the logic lives in service.py."""

import uuid

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.registry import bulk, gateways, service
from services.registry.dependencies import (
    CameraDep,
    CameraFiltersDep,
    CameraRef,
    GatewayRef,
    IfMatch,
)
from services.registry.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AreaRead,
    CameraCreate,
    CameraCreated,
    CameraRead,
    CameraUpdate,
    ChangeRead,
    DeviceTokenIssued,
    GatewayCreate,
    GatewayCreated,
    GatewayRead,
    GatewayUpdate,
    ImportResult,
)
from shared.auth import Admin, Maintainer, RegistryReader, RegistryWriter
from shared.db import SessionDep
from shared.models import AreaLevel, Lifecycle
from shared.pagination import CursorQuery, LimitQuery, Page

IMPORT_BODY = {
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
    "required": True,
    "description": "CSV with a header line (the export's columns; tags separated by |) or one JSON object per line",
}

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
    "/cameras",
    tags=["cameras"],
    summary="Find cameras (every filter combined with AND)",
    response_model=Page[CameraRead],
)
async def list_cameras(
    filters: CameraFiltersDep,
    session: SessionDep,
    principal: RegistryReader,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Response:
    cameras, next_cursor = await service.list_cameras(session, filters=filters, limit=limit, cursor=cursor)
    page = Page[CameraRead](items=[service.camera_read(c) for c in cameras], next_cursor=next_cursor)
    # Serialised here, once: the page was built from the schema, so FastAPI's second validation is skipped.
    return Response(page.model_dump_json(), media_type="application/json")


@router.get(
    "/cameras/export",
    tags=["cameras"],
    summary="The matching cameras as CSV (import accepts the same file)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_cameras(filters: CameraFiltersDep, request: Request, principal: RegistryReader) -> StreamingResponse:
    return StreamingResponse(
        bulk.export_csv(request.app.state.sessionmaker, filters=filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cameras.csv"'},
    )


@router.post(
    "/cameras/import",
    tags=["cameras"],
    summary="Register or update cameras by code from CSV or JSON lines",
    openapi_extra={"requestBody": IMPORT_BODY},
    responses={
        413: {"description": "The body is over the import limit"},
        415: {"description": "Not CSV or JSON lines"},
    },
)
async def import_cameras(
    request: Request,
    session: SessionDep,
    principal: RegistryWriter,
    dry_run: bool = Query(default=False, description="Validate every row, write nothing"),
) -> ImportResult:
    fmt = bulk.body_format(request.headers.get("content-type"))
    body = await bulk.spool(request.stream())
    with body:
        return await bulk.import_cameras(
            session, body=body, fmt=fmt, principal=principal, request_id=_request_id(request), dry_run=dry_run
        )


@router.get(
    "/cameras/{camera}",
    tags=["cameras"],
    summary="One camera, by id or code",
    responses={404: {"description": "No such camera"}},
)
async def get_camera(camera: CameraDep, response: Response, principal: RegistryReader) -> CameraRead:
    response.headers["ETag"] = service.camera_etag(camera)
    return service.camera_read(camera)


@router.patch(
    "/cameras/{camera}",
    tags=["cameras"],
    summary="Change some fields of a camera",
    responses={
        404: {"description": "No such camera"},
        409: {"description": "The new code is taken, or the camera is decommissioned"},
        412: {"description": "If-Match is stale: the camera changed since it was read"},
    },
)
async def update_camera(
    camera: CameraRef,
    data: CameraUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Maintainer,
    if_match: IfMatch = None,
) -> CameraRead:
    updated = await service.update_camera(
        session,
        ref=camera,
        data=data,
        principal=principal,
        request_id=_request_id(request),
        if_match=service.parse_if_match(if_match),
    )
    response.headers["ETag"] = service.camera_etag(updated)
    return service.camera_read(updated)


@router.delete(
    "/cameras/{camera}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["cameras"],
    summary="Decommission a camera (kept, its device token revoked)",
    responses={404: {"description": "No such camera"}, 412: {"description": "If-Match is stale"}},
)
async def decommission_camera(
    camera: CameraRef, request: Request, session: SessionDep, principal: RegistryWriter, if_match: IfMatch = None
) -> Response:
    await service.decommission_camera(
        session,
        ref=camera,
        principal=principal,
        request_id=_request_id(request),
        if_match=service.parse_if_match(if_match),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/cameras/{camera}/rotate-token",
    tags=["cameras"],
    summary="Issue a new device token; the old one stops working at once",
    responses={404: {"description": "No such camera"}, 409: {"description": "The camera is decommissioned"}},
)
async def rotate_camera_token(
    camera: CameraRef, request: Request, session: SessionDep, principal: RegistryWriter
) -> DeviceTokenIssued:
    return await service.rotate_camera_token(session, ref=camera, principal=principal, request_id=_request_id(request))


@router.get(
    "/cameras/{camera}/changes",
    tags=["cameras"],
    summary="The camera's audit trail, newest first",
    responses={404: {"description": "No such camera"}},
)
async def camera_changes(
    camera: CameraDep,
    session: SessionDep,
    principal: RegistryReader,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ChangeRead]:
    items, next_cursor = await service.list_changes(session, camera_id=camera.id, limit=limit, cursor=cursor)
    return Page[ChangeRead](items=items, next_cursor=next_cursor)


@router.post(
    "/gateways",
    status_code=status.HTTP_201_CREATED,
    tags=["gateways"],
    summary="Register a gateway (NVR)",
    responses={409: {"description": "A gateway with this code exists"}},
)
async def create_gateway(
    data: GatewayCreate, request: Request, response: Response, session: SessionDep, principal: RegistryWriter
) -> GatewayCreated:
    gateway, token = await gateways.create_gateway(
        session, data=data, principal=principal, request_id=_request_id(request)
    )
    response.headers["Location"] = f"/v1/gateways/{gateway.id}"
    response.headers["ETag"] = gateways.gateway_etag(gateway)
    return GatewayCreated(**gateways.gateway_read(gateway).model_dump(), device_token=token)


@router.get("/gateways", tags=["gateways"], summary="List gateways")
async def list_gateways(
    session: SessionDep,
    principal: RegistryReader,
    district: str | None = Query(default=None, max_length=32),
    lifecycle: Lifecycle | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[GatewayRead]:
    items, next_cursor = await gateways.list_gateways(
        session, district=district, lifecycle=lifecycle, limit=limit, cursor=cursor
    )
    return Page[GatewayRead](items=[gateways.gateway_read(g) for g in items], next_cursor=next_cursor)


@router.get(
    "/gateways/{gateway}",
    tags=["gateways"],
    summary="One gateway, by id or code",
    responses={404: {"description": "No such gateway"}},
)
async def get_gateway(
    gateway: GatewayRef, response: Response, session: SessionDep, principal: RegistryReader
) -> GatewayRead:
    found = await gateways.get_gateway(session, ref=gateway)
    response.headers["ETag"] = gateways.gateway_etag(found)
    return gateways.gateway_read(found)


@router.patch(
    "/gateways/{gateway}",
    tags=["gateways"],
    summary="Change some fields of a gateway",
    responses={
        404: {"description": "No such gateway"},
        409: {"description": "The new code is taken, or the gateway is decommissioned"},
        412: {"description": "If-Match is stale"},
    },
)
async def update_gateway(
    gateway: GatewayRef,
    data: GatewayUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: RegistryWriter,
    if_match: IfMatch = None,
) -> GatewayRead:
    updated = await gateways.update_gateway(
        session,
        ref=gateway,
        fields={name: getattr(data, name) for name in data.model_fields_set},
        principal=principal,
        request_id=_request_id(request),
        if_match=service.parse_if_match(if_match),
    )
    response.headers["ETag"] = gateways.gateway_etag(updated)
    return gateways.gateway_read(updated)


@router.delete(
    "/gateways/{gateway}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["gateways"],
    summary="Decommission a gateway (kept, its device token revoked)",
    responses={404: {"description": "No such gateway"}, 412: {"description": "If-Match is stale"}},
)
async def decommission_gateway(
    gateway: GatewayRef, request: Request, session: SessionDep, principal: RegistryWriter, if_match: IfMatch = None
) -> Response:
    await gateways.update_gateway(
        session,
        ref=gateway,
        fields={"lifecycle": "decommissioned"},
        principal=principal,
        request_id=_request_id(request),
        if_match=service.parse_if_match(if_match),
        action="decommission",
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/gateways/{gateway}/rotate-token",
    tags=["gateways"],
    summary="Issue a new gateway token; the old one stops working at once",
    responses={404: {"description": "No such gateway"}, 409: {"description": "The gateway is decommissioned"}},
)
async def rotate_gateway_token(
    gateway: GatewayRef, request: Request, session: SessionDep, principal: RegistryWriter
) -> DeviceTokenIssued:
    issued = await gateways.gateway_token(
        session, ref=gateway, principal=principal, request_id=_request_id(request), issue_new=True
    )
    assert issued is not None
    return issued


@router.post(
    "/gateways/{gateway}/revoke-token",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["gateways"],
    summary="Revoke the gateway's token without issuing another",
    responses={404: {"description": "No such gateway"}},
)
async def revoke_gateway_token(
    gateway: GatewayRef, request: Request, session: SessionDep, principal: RegistryWriter
) -> Response:
    await gateways.gateway_token(
        session, ref=gateway, principal=principal, request_id=_request_id(request), issue_new=False
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/gateways/{gateway}/changes",
    tags=["gateways"],
    summary="The gateway's audit trail, newest first",
    responses={404: {"description": "No such gateway"}},
)
async def gateway_changes(
    gateway: GatewayRef,
    session: SessionDep,
    principal: RegistryReader,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ChangeRead]:
    found = await gateways.get_gateway(session, ref=gateway)
    items, next_cursor = await service.list_changes(session, gateway_id=found.id, limit=limit, cursor=cursor)
    return Page[ChangeRead](items=items, next_cursor=next_cursor)


@router.get("/areas", tags=["areas"], summary="Reference areas (districts, wards)")
async def list_areas(
    session: SessionDep,
    principal: RegistryReader,
    level: AreaLevel | None = None,
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
