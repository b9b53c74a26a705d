"""Camera endpoints: CRUD, the list and its CSV and NGSI-LD exports, the import, device tokens, the audit trail."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.registry import export, import_rows, importer, ngsi, search, service
from services.registry.audit import list_changes
from services.registry.dependencies import CameraDep, CameraFiltersDep, CameraRef, IfMatch, RequestId
from services.registry.devices import etag, parse_if_match
from services.registry.schemas import (
    CameraCreate,
    CameraCreated,
    CameraRead,
    CameraUpdate,
    CameraWritten,
    ChangeRead,
    DeviceTokenIssued,
    ImportResult,
)
from shared.auth import Maintainer, RegistryReader, RegistryWriter
from shared.db import SessionDep
from shared.pagination import CursorQuery, LimitQuery, Page

IMPORT_BODY = {
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
    "required": True,
    "description": "CSV with a header line (the export's columns; tags separated by |) or one JSON object per"
    " line. UTF-8 (a byte-order mark is fine), or UTF-16 with its byte-order mark; another encoding is named by"
    " the charset parameter (utf-16, windows-1258) and converted; any other body that is not UTF-8 is a 400",
}

NGSI_LD_CONTENT = {
    ngsi.MEDIA_TYPE: {
        "schema": {"type": "array", "items": {"type": "object"}},
        "example": [{"id": "urn:ngsi-ld:Camera:…", "type": "Camera"}, {"id": "urn:ngsi-ld:Device:…", "type": "Device"}],
    }
}
NGSI_LD_FORMAT = (
    "ngsi-ld: FIWARE Smart Data Models entities in keyValues form, a `Camera` and a `Device` per camera"
    " (application/ld+json, each entity with its @context)"
)

router = APIRouter()


@router.post(
    "/cameras",
    status_code=status.HTTP_201_CREATED,
    tags=["cameras"],
    summary="Register a camera",
    responses={409: {"description": "A camera with this code exists"}},
)
async def create_camera(
    data: CameraCreate,
    request_id: RequestId,
    response: Response,
    session: SessionDep,
    principal: RegistryWriter,
) -> CameraCreated:
    camera, token, warnings = await service.create_camera(
        session, data=data, principal=principal, request_id=request_id
    )
    response.headers["Location"] = f"/v1/cameras/{camera.id}"
    response.headers["ETag"] = etag(camera)
    return CameraCreated(**service.camera_read(camera).model_dump(), warnings=warnings, device_token=token)


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
    cameras, next_cursor = await search.list_cameras(session, filters=filters, limit=limit, cursor=cursor)
    page = Page[CameraRead](items=[service.camera_read(c) for c in cameras], next_cursor=next_cursor)
    # Serialised here, once: the page was built from the schema, so FastAPI's second validation is skipped.
    return Response(page.model_dump_json(), media_type="application/json")


@router.get(
    "/cameras/export",
    tags=["cameras"],
    summary="The matching cameras as CSV (import accepts the same file) or as NGSI-LD entities",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}, **NGSI_LD_CONTENT}}},
)
async def export_cameras(
    filters: CameraFiltersDep,
    request: Request,
    principal: RegistryReader,
    export_format: Annotated[
        Literal["csv", "ngsi-ld"], Query(alias="format", description=f"csv (the default), or {NGSI_LD_FORMAT}")
    ] = "csv",
) -> StreamingResponse:
    if export_format == "ngsi-ld":
        return StreamingResponse(
            ngsi.export_ngsi(request.app.state.sessionmaker, filters=filters),
            media_type=ngsi.MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="cameras.jsonld"'},
        )
    return StreamingResponse(
        export.export_csv(request.app.state.sessionmaker, filters=filters),
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
    request_id: RequestId,
    session: SessionDep,
    principal: RegistryWriter,
    dry_run: bool = Query(default=False, description="Validate every row, write nothing"),
    issue_tokens: bool = Query(
        default=False,
        description="Issue a device token for each camera the import creates, returned once in device_tokens",
    ),
) -> ImportResult:
    fmt = import_rows.body_format(request.headers.get("content-type"))
    charset = import_rows.body_charset(request.headers.get("content-type"))
    body = await import_rows.spool(request.stream(), charset)
    with body:
        return await importer.import_cameras(
            session,
            body=body,
            fmt=fmt,
            principal=principal,
            request_id=request_id,
            dry_run=dry_run,
            issue_tokens=issue_tokens,
        )


@router.get(
    "/cameras/{camera}",
    tags=["cameras"],
    summary="One camera, by id or code (or its NGSI-LD entities)",
    response_model=CameraRead,
    responses={200: {"content": NGSI_LD_CONTENT}, 404: {"description": "No such camera"}},
)
async def get_camera(
    camera: CameraDep,
    response: Response,
    session: SessionDep,
    principal: RegistryReader,
    camera_format: Annotated[
        Literal["json", "ngsi-ld"], Query(alias="format", description=f"json (the default), or {NGSI_LD_FORMAT}")
    ] = "json",
) -> CameraRead | Response:
    if camera_format == "ngsi-ld":
        return Response(await ngsi.camera_entities(session, camera=camera), media_type=ngsi.MEDIA_TYPE)
    response.headers["ETag"] = etag(camera)
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
    request_id: RequestId,
    response: Response,
    session: SessionDep,
    principal: Maintainer,
    if_match: IfMatch = None,
) -> CameraWritten:
    updated, warnings = await service.update_camera(
        session,
        ref=camera,
        data=data,
        principal=principal,
        request_id=request_id,
        if_match=parse_if_match(if_match),
    )
    response.headers["ETag"] = etag(updated)
    return CameraWritten(**service.camera_read(updated).model_dump(), warnings=warnings)


@router.delete(
    "/cameras/{camera}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["cameras"],
    summary="Decommission a camera (kept, its device token revoked)",
    responses={404: {"description": "No such camera"}, 412: {"description": "If-Match is stale"}},
)
async def decommission_camera(
    camera: CameraRef, request_id: RequestId, session: SessionDep, principal: RegistryWriter, if_match: IfMatch = None
) -> Response:
    await service.decommission_camera(
        session, ref=camera, principal=principal, request_id=request_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/cameras/{camera}/rotate-token",
    tags=["cameras"],
    summary="Issue a new device token; the old one stops working at once",
    responses={404: {"description": "No such camera"}, 409: {"description": "The camera is decommissioned"}},
)
async def rotate_camera_token(
    camera: CameraRef, request_id: RequestId, session: SessionDep, principal: RegistryWriter
) -> DeviceTokenIssued:
    return await service.rotate_camera_token(session, ref=camera, principal=principal, request_id=request_id)


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
    items, next_cursor = await list_changes(session, device=camera, limit=limit, cursor=cursor)
    return Page[ChangeRead](items=items, next_cursor=next_cursor)
