"""Health endpoints; the logic lives in service.py (aggregates), cameras.py, events.py, incidents.py,
availability.py, subscriptions.py (webhooks) and stream.py."""

import uuid
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from services.health import acks, availability, cameras, events, gateways, incidents, service, subscriptions
from services.health.dependencies import CameraFilters, IncidentAcker, WebhookManager
from services.health.schemas import (
    AckBody,
    Availability,
    CameraHealthDetail,
    CameraHealthRead,
    DeliveryRead,
    EventRead,
    GatewayHealthRead,
    GroupBy,
    Groups,
    IncidentRead,
    Summary,
    WebhookChangeRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from services.health.stream import Broadcaster, sse
from shared.auth import HealthReader
from shared.db import SessionDep
from shared.errors import ServiceUnavailable, ValidationFailed
from shared.geo import parse_bbox
from shared.models import DeliveryState, IncidentKind, IncidentState
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.reads import ReadSessionDep

router = APIRouter(prefix="/v1/health")

POLL_CACHE_CONTROL = "private, max-age=1, must-revalidate"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified since the ETag in If-None-Match"}}


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip() for t in header.split(",")}
    weak = etag.removeprefix("W/")
    return "*" in tags or etag in tags or weak in tags or any(t.removeprefix("W/") == weak for t in tags)


def _cached_response(request: Request, response: Response, etag: str) -> Response | None:
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = POLL_CACHE_CONTROL
    if _not_modified(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": POLL_CACHE_CONTROL})
    return None


@router.get(
    "/summary",
    tags=["health"],
    summary="City-wide counts by status (ETag: poll with If-None-Match)",
    responses=NOT_MODIFIED,
    response_model=Summary,
)
async def get_summary(request: Request, response: Response, session: ReadSessionDep, principal: HealthReader) -> Any:
    meta = await service.current_meta(session)
    etag = service.etag_for(meta)
    not_modified = _cached_response(request, response, etag)
    if not_modified is not None:
        return not_modified
    return await service.summary(session, meta=meta)


@router.get(
    "/groups",
    tags=["health"],
    summary="Counts by status per district, ward, vendor, model, kind, owner, gateway or tag",
    responses=NOT_MODIFIED,
    response_model=Groups,
)
async def get_groups(
    request: Request,
    response: Response,
    session: ReadSessionDep,
    principal: HealthReader,
    by: GroupBy = "district",
    district: Annotated[str | None, Query(min_length=1, max_length=32, description="Only this district")] = None,
) -> Any:
    meta = await service.current_meta(session)
    etag = service.etag_for(meta, by, district)
    not_modified = _cached_response(request, response, etag)
    if not_modified is not None:
        return not_modified
    return await service.groups(session, meta=meta, by=by, district=district)


@router.get(
    "/cameras",
    tags=["health"],
    summary="Cameras with their status, worst first",
    response_model=Page[CameraHealthRead],
)
async def list_cameras(
    session: ReadSessionDep,
    principal: HealthReader,
    filters: CameraFilters,
    sort: Annotated[
        Literal["worst", "code"], Query(description="worst: offline first, longest down first (default); code")
    ] = "worst",
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Response:
    items, next_cursor = await cameras.list_cameras(session, filters=filters, limit=limit, cursor=cursor, sort=sort)
    # The most-polled list: encoded straight from the rows (the model above documents the shape).
    return Response(msgspec.json.encode({"items": items, "next_cursor": next_cursor}), media_type="application/json")


@router.get(
    "/cameras/{camera}",
    tags=["health"],
    summary="One camera: status, reason, since, last heartbeat and recent transitions",
    responses={404: {"description": "No such camera, or it is planned/decommissioned"}},
)
async def camera_detail(
    camera: Annotated[str, Path(min_length=1, max_length=64, description="The camera's UUID or its code")],
    session: ReadSessionDep,
    principal: HealthReader,
    transitions: Annotated[int, Query(ge=0, le=200, description="How many recent transitions")] = 20,
) -> CameraHealthDetail:
    return await cameras.camera_detail(session, ref=camera, transitions=transitions)


@router.get("/availability", tags=["health"], summary="Share of time up over a window, from recorded transitions")
async def get_availability(
    session: ReadSessionDep,
    principal: HealthReader,
    window: Annotated[str, Query(min_length=2, max_length=40, description="1h, 24h, 7d or ISO 8601 (P7D)")] = "24h",
    by: GroupBy | None = None,
    district: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    end: Annotated[AwareDatetime | None, Query(description="End of the window (default now)")] = None,
) -> Availability:
    return await availability.availability(session, window_raw=window, end=end, by=by, district=district)


@router.get("/events", tags=["health"], summary="Status transitions, newest first; since= to resume")
async def list_events(
    session: ReadSessionDep,
    principal: HealthReader,
    since: Annotated[str | None, Query(max_length=40, description="An event id or an RFC 3339 time")] = None,
    camera: Annotated[str | None, Query(min_length=1, max_length=64, description="Camera id or code")] = None,
    district: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    status_: Annotated[list[str] | None, Query(alias="status", max_length=5, description="New status")] = None,
    incident_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[EventRead]:
    filters = {"since": since, "camera": camera, "district": district, "status": status_, "incident_id": incident_id}
    items, next_cursor = await events.list_events(session, filters=filters, limit=limit, cursor=cursor)
    return Page[EventRead](items=items, next_cursor=next_cursor)


def _broadcaster(request: Request) -> Broadcaster:
    broadcaster: Broadcaster = request.app.state.broadcaster  # created by the lifespan (main.py)
    return broadcaster


@router.get(
    "/stream",
    tags=["health"],
    summary=(
        "Live transitions as Server-Sent Events (event: status, id:, data:), resumable with Last-Event-ID;"
        " acknowledgement changes as event: incident (data: the incident, no id)"
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
)
async def stream(
    request: Request,
    principal: HealthReader,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    since: Annotated[int | None, Query(ge=0, le=2**62, description="Resume after this event id")] = None,
    district: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> StreamingResponse:
    resume = since
    if last_event_id is not None and last_event_id.strip():
        if not last_event_id.strip().isdigit():
            raise ValidationFailed(
                "Last-Event-ID must be an event id",
                errors=[{"loc": ["header", "last-event-id"], "msg": "expected an integer event id"}],
            )
        resume = int(last_event_id.strip())
    broadcaster = _broadcaster(request)
    try:
        await broadcaster.start()
    except TimeoutError:
        raise ServiceUnavailable("the event stream is not available yet; retry shortly") from None
    # The request's session was committed and released when this function returns (SessionDep),
    # so the stream itself holds no database connection.
    return StreamingResponse(
        sse(broadcaster, last_event_id=resume, filters={"district": set(district) if district else None}),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/incidents", tags=["incidents"], summary="Correlated outages, newest first")
async def list_incidents(
    session: ReadSessionDep,
    principal: HealthReader,
    state: IncidentState | None = None,
    kind: IncidentKind | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[IncidentRead]:
    items, next_cursor = await incidents.list_incidents(session, state=state, kind=kind, limit=limit, cursor=cursor)
    return Page[IncidentRead](items=items, next_cursor=next_cursor)


@router.get(
    "/incidents/{incident_id}",
    tags=["incidents"],
    summary="One incident",
    responses={404: {"description": "No such incident"}},
)
async def get_incident(
    incident_id: Annotated[int, Path(ge=1, le=2**62)], session: ReadSessionDep, principal: HealthReader
) -> IncidentRead:
    return await incidents.get_incident(session, incident_id=incident_id)


ACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident"},
    409: {"description": "Ack: the incident is closed; unack: it is not acknowledged"},
}


@router.post(
    "/incidents/{incident_id}/ack",
    tags=["incidents"],
    summary="Acknowledge an open incident (admin, operator; a district-scoped key: its districts only)",
    responses=ACK_RESPONSES,
)
async def ack_incident(
    incident_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    principal: IncidentAcker,
    body: AckBody | None = None,
) -> IncidentRead:
    return await acks.ack_incident(
        session, incident_id=incident_id, principal=principal, note=body.note if body else None
    )


@router.post(
    "/incidents/{incident_id}/unack",
    tags=["incidents"],
    summary="Withdraw an acknowledgement, so the incident alarms again (admin, operator)",
    responses=ACK_RESPONSES,
)
async def unack_incident(
    incident_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    principal: IncidentAcker,
    body: AckBody | None = None,
) -> IncidentRead:
    return await acks.unack_incident(
        session, incident_id=incident_id, principal=principal, note=body.note if body else None
    )


@router.get(
    "/map.geojson",
    tags=["health"],
    summary="RFC 7946 FeatureCollection of cameras with their status ([lon, lat]); filters as the list",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def map_geojson(
    session: ReadSessionDep,
    principal: HealthReader,
    filters: CameraFilters,
    bbox: Annotated[str | None, Query(max_length=100, description="minLon,minLat,maxLon,maxLat")] = None,
) -> Response:
    filters = {**filters, "bbox": parse_bbox(bbox)}
    body = await cameras.geojson(session, filters=filters)
    return Response(body, media_type="application/geo+json")


@router.get(
    "/sd",
    tags=["monitoring"],
    summary="Prometheus HTTP service discovery: probe targets (host:port, no credentials) per district",
)
async def service_discovery(
    session: ReadSessionDep, principal: HealthReader, filters: CameraFilters
) -> list[dict[str, Any]]:
    return await cameras.service_discovery(session, filters=filters)


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    tags=["webhooks"],
    summary="Subscribe a URL to transitions and/or incidents (admin, operator); the secret is shown once",
)
async def create_webhook(
    data: WebhookCreate, response: Response, session: SessionDep, principal: WebhookManager
) -> WebhookCreated:
    created = await subscriptions.create_webhook(session, data=data, principal=principal)
    response.headers["Location"] = f"/v1/health/webhooks/{created.id}"
    return created


@router.get("/webhooks", tags=["webhooks"], summary="Webhook subscriptions (admin: all; operator: its own)")
async def list_webhooks(
    session: SessionDep, principal: WebhookManager, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[WebhookRead]:
    items, next_cursor = await subscriptions.list_webhooks(session, principal=principal, limit=limit, cursor=cursor)
    return Page[WebhookRead](items=items, next_cursor=next_cursor)


@router.get(
    "/webhooks/{webhook_id}",
    tags=["webhooks"],
    summary="One webhook",
    responses={404: {"description": "No such webhook (or another key's, for an operator)"}},
)
async def get_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: WebhookManager) -> WebhookRead:
    return subscriptions.webhook_read(
        await subscriptions.get_webhook(session, webhook_id=webhook_id, principal=principal)
    )


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["webhooks"],
    summary="Delete a webhook (its delivery log is kept, queued deliveries are cancelled)",
    responses={404: {"description": "No such webhook (or another key's, for an operator)"}},
)
async def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: WebhookManager) -> Response:
    await subscriptions.delete_webhook(session, webhook_id=webhook_id, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhooks/{webhook_id}/enable",
    tags=["webhooks"],
    summary="Re-enable a webhook (disabled by hand or after failing for long); what it had queued is sent",
    responses={404: {"description": "No such webhook (or another key's, for an operator)"}},
)
async def enable_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: WebhookManager) -> WebhookRead:
    return await subscriptions.enable_webhook(session, webhook_id=webhook_id, principal=principal)


@router.post(
    "/webhooks/{webhook_id}/disable",
    tags=["webhooks"],
    summary="Pause a webhook; its queued deliveries wait until it is enabled",
    responses={404: {"description": "No such webhook (or another key's, for an operator)"}},
)
async def disable_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: WebhookManager) -> WebhookRead:
    return await subscriptions.disable_webhook(session, webhook_id=webhook_id, principal=principal)


@router.get(
    "/webhooks/{webhook_id}/changes",
    tags=["webhooks"],
    summary="The webhook's audit trail, newest first",
    responses={404: {"description": "No such webhook (or another key's, for an operator)"}},
)
async def list_webhook_changes(
    webhook_id: uuid.UUID, session: SessionDep, principal: WebhookManager, limit: LimitQuery = 100
) -> Page[WebhookChangeRead]:
    items = await subscriptions.list_changes(session, webhook_id=webhook_id, principal=principal, limit=limit)
    return Page[WebhookChangeRead](items=items, next_cursor=None)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    tags=["webhooks"],
    summary="The delivery log: every message, its attempts and outcome, newest first",
    responses={404: {"description": "No such webhook (or another key's, for an operator)"}},
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: WebhookManager,
    state: DeliveryState | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[DeliveryRead]:
    items, next_cursor = await subscriptions.list_deliveries(
        session, webhook_id=webhook_id, principal=principal, state=state, limit=limit, cursor=cursor
    )
    return Page[DeliveryRead](items=items, next_cursor=next_cursor)


@router.get("/gateways", tags=["health"], summary="Gateways (NVRs, probe agents): status, last seen, cameras offline")
async def list_gateways(
    session: SessionDep,
    principal: HealthReader,
    district: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[GatewayHealthRead]:
    items, next_cursor = await gateways.list_gateways(session, district=district, limit=limit, cursor=cursor)
    return Page[GatewayHealthRead](items=items, next_cursor=next_cursor)


@router.get(
    "/gateways/{gateway}",
    tags=["health"],
    summary="One gateway's status, last seen and camera counts",
    responses={404: {"description": "No such gateway, or it is planned/decommissioned"}},
)
async def gateway_health(
    gateway: Annotated[str, Path(min_length=1, max_length=64, description="The gateway's UUID or its code")],
    session: SessionDep,
    principal: HealthReader,
) -> GatewayHealthRead:
    return await gateways.gateway_health(session, ref=gateway)
