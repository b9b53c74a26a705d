"""The fallback routes of the two heartbeat endpoints, and their OpenAPI documentation.

While the service runs, HeartbeatFront (front.py) answers these two paths before routing, so these
routes never see a heartbeat. They document the endpoints in OpenAPI, and serve them (the same rules,
heartbeats.py, on the request's own session) only when the app's runtime is not running, as in an
app bound to a test transaction. Body limits are the shared input guard's here (main.py path_limits)."""

from typing import Any

from fastapi import APIRouter, Request, Response, status

from services.ingest.dependencies import BackendDep, LimiterDep, SettingsDep
from services.ingest.errors import Reject
from services.ingest.heartbeats import process_batch, process_single
from services.ingest.schemas import BatchIn, BatchResult, HeartbeatAccepted, HeartbeatIn, schema_ref
from shared.errors import PROBLEM_JSON, Problem, problem_body

fallback_router = APIRouter(prefix="/v1", tags=["heartbeats"])


def _problem(status_code: int, description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
        }
    return response


_COMMON: dict[int | str, dict[str, Any]] = {
    401: _problem(401, "Missing, unknown or revoked device token"),
    413: _problem(413, "The body is over the limit"),
    415: _problem(415, "The body is not JSON"),
    422: _problem(422, "A value is missing its type or range, or the body is not valid JSON"),
    503: _problem(503, "The database cannot take writes now; retry after Retry-After seconds", retry_after=True),
}


def _body(struct: type, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": False,
            "description": description,
            "content": {"application/json": {"schema": schema_ref(struct)}},
        }
    }


def _as_problem(exc: Reject) -> Problem:
    doc = problem_body(exc.status, exc.detail)
    problem = Problem(
        exc.detail,
        errors=exc.errors,
        headers={k.decode().title(): v.decode() for k, v in exc.headers},
        status=exc.status,
        title=doc["title"],
    )
    problem.slug = doc["type"].rsplit("/", 1)[-1]
    return problem


@fallback_router.post(
    "/heartbeats",
    status_code=status.HTTP_202_ACCEPTED,
    summary="One heartbeat from a camera (device token)",
    description=(
        "202 once the heartbeat is committed in Postgres; `received_at` is the server's clock. "
        "Body limit 16 KiB. Rate limit per camera: a token bucket (default 1/s sustained, burst 5)."
    ),
    openapi_extra=_body(HeartbeatIn, "Every field is optional"),
    response_class=Response,
    responses={
        202: {"description": "Committed", "content": {"application/json": {"schema": schema_ref(HeartbeatAccepted)}}},
        403: _problem(403, "The camera is decommissioned, or the token is a gateway's"),
        429: _problem(429, "Past the camera's rate limit; retry after Retry-After seconds", retry_after=True),
        **_COMMON,
    },
)
async def post_heartbeat(request: Request, backend: BackendDep, limiter: LimiterDep) -> Response:
    body = await request.body()
    try:
        payload = await process_single(
            backend,
            limiter,
            _header(request, b"authorization"),
            _header(request, b"content-type"),
            body,
        )
    except Reject as exc:
        raise _as_problem(exc) from None
    return Response(payload, status_code=202, media_type="application/json")


@fallback_router.post(
    "/heartbeats/batch",
    summary="Up to 1000 heartbeats from a gateway (gateway token)",
    description=(
        "200 with one result per item, in order: `status` 202 for a committed item, else the 4xx the "
        "item would have got alone (403 for a camera not behind this gateway, 422 for bad values, 429 "
        "past the camera's rate limit). The gateway's own liveness is recorded apart from its cameras'; "
        "an empty `heartbeats` list records only that (a probe agent whose cameras are all silent). "
        "Body limit 1 MiB."
    ),
    openapi_extra=_body(BatchIn, "The heartbeats, each naming its camera by id or code"),
    response_class=Response,
    responses={
        200: {"description": "Per-item results", "content": {"application/json": {"schema": schema_ref(BatchResult)}}},
        403: _problem(403, "The gateway is decommissioned, or the token is a camera's"),
        **_COMMON,
    },
)
async def post_heartbeat_batch(
    request: Request, backend: BackendDep, limiter: LimiterDep, settings: SettingsDep
) -> Response:
    body = await request.body()
    try:
        payload = await process_batch(
            backend,
            limiter,
            settings,
            _header(request, b"authorization"),
            _header(request, b"content-type"),
            body,
        )
    except Reject as exc:
        raise _as_problem(exc) from None
    return Response(payload, status_code=200, media_type="application/json")


def _header(request: Request, name: bytes) -> bytes | None:
    for key, value in request.scope["headers"]:
        if key == name:
            return bytes(value)
    return None
