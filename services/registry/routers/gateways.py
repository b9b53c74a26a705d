"""Gateway (NVR) endpoints: CRUD, the device token and the audit trail."""

from fastapi import APIRouter, Query, Response, status

from services.registry import gateway_cameras, gateways
from services.registry.audit import list_changes
from services.registry.dependencies import CallingGateway, GatewayRef, IfMatch, IfNoneMatch, RequestId
from services.registry.devices import etag, parse_if_match
from services.registry.schemas import (
    ChangeRead,
    DeviceTokenIssued,
    GatewayCameras,
    GatewayCreate,
    GatewayCreated,
    GatewayRead,
    GatewaySelf,
    GatewayUpdate,
)
from shared.auth import RegistryReader, RegistryWriter
from shared.db import SessionDep
from shared.models import Lifecycle
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter()


@router.post(
    "/gateways",
    status_code=status.HTTP_201_CREATED,
    tags=["gateways"],
    summary="Register a gateway (NVR)",
    responses={409: {"description": "A gateway with this code exists"}},
)
async def create_gateway(
    data: GatewayCreate, request_id: RequestId, response: Response, session: SessionDep, principal: RegistryWriter
) -> GatewayCreated:
    gateway, token = await gateways.create_gateway(session, data=data, principal=principal, request_id=request_id)
    response.headers["Location"] = f"/v1/gateways/{gateway.id}"
    response.headers["ETag"] = etag(gateway)
    (read,) = await gateways.gateway_reads(session, gateways=[gateway])
    return GatewayCreated(**read.model_dump(), device_token=token)


@router.get("/gateways", tags=["gateways"], summary="List gateways, each with its liveness")
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
    return Page[GatewayRead](items=await gateways.gateway_reads(session, gateways=items), next_cursor=next_cursor)


@router.get(
    "/gateways/self/cameras",
    tags=["gateways"],
    response_model=GatewayCameras,
    summary="The cameras behind the calling gateway (gateway device token)",
    description=(
        "For a gateway or probe agent: the active and maintenance cameras behind it, with code, id, ip, stream "
        "URL (credentials masked: they never leave the registry) and heartbeat interval, the whole list in one "
        "response. The ETag (also `version`) changes whenever a camera joins, leaves or changes: send it back in "
        "If-None-Match and an unchanged list costs a 304. Authenticated by the gateway's device token, not an "
        "API key; `self` is a reserved gateway code, so this path never names another gateway."
    ),
    responses={
        304: {"description": "The list has not changed since the ETag sent"},
        401: {"description": "Missing, unknown or revoked device token"},
        403: {"description": "A camera's token, or a decommissioned gateway"},
    },
)
async def gateway_self_cameras(
    gateway: CallingGateway, session: SessionDep, response: Response, if_none_match: IfNoneMatch = None
) -> GatewayCameras | Response:
    version = await gateway_cameras.cameras_version(session, gateway_id=gateway.id)
    tag = f'"{version}"'
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    response.headers["ETag"] = tag
    items = await gateway_cameras.gateway_cameras(session, gateway_id=gateway.id)
    return GatewayCameras(
        gateway=GatewaySelf(id=gateway.id, code=gateway.code, kind=gateway.kind), version=version, items=items
    )


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
    response.headers["ETag"] = etag(found)
    (read,) = await gateways.gateway_reads(session, gateways=[found])
    return read


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
    request_id: RequestId,
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
        request_id=request_id,
        if_match=parse_if_match(if_match),
    )
    response.headers["ETag"] = etag(updated)
    (read,) = await gateways.gateway_reads(session, gateways=[updated])
    return read


@router.delete(
    "/gateways/{gateway}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["gateways"],
    summary="Decommission a gateway (kept, its device token revoked)",
    responses={404: {"description": "No such gateway"}, 412: {"description": "If-Match is stale"}},
)
async def decommission_gateway(
    gateway: GatewayRef, request_id: RequestId, session: SessionDep, principal: RegistryWriter, if_match: IfMatch = None
) -> Response:
    await gateways.update_gateway(
        session,
        ref=gateway,
        fields={"lifecycle": "decommissioned"},
        principal=principal,
        request_id=request_id,
        if_match=parse_if_match(if_match),
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
    gateway: GatewayRef, request_id: RequestId, session: SessionDep, principal: RegistryWriter
) -> DeviceTokenIssued:
    issued = await gateways.gateway_token(
        session, ref=gateway, principal=principal, request_id=request_id, issue_new=True
    )
    assert issued is not None  # issue_new always issues one
    return issued


@router.post(
    "/gateways/{gateway}/revoke-token",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["gateways"],
    summary="Revoke the gateway's token without issuing another",
    responses={404: {"description": "No such gateway"}},
)
async def revoke_gateway_token(
    gateway: GatewayRef, request_id: RequestId, session: SessionDep, principal: RegistryWriter
) -> Response:
    await gateways.gateway_token(session, ref=gateway, principal=principal, request_id=request_id, issue_new=False)
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
    items, next_cursor = await list_changes(session, device=found, limit=limit, cursor=cursor)
    return Page[ChangeRead](items=items, next_cursor=next_cursor)
