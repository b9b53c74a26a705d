"""The app factory every service uses: lifespan-owned engine, probes, metrics, errors, middleware."""

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth import authenticate
from shared.db import make_engine, make_sessionmaker, schema_revision
from shared.docs import install_offline_docs
from shared.errors import PROBLEM_JSON, install_problem_handlers, problem_response
from shared.logs import configure_logging
from shared.metrics import render
from shared.middleware import InputGuardMiddleware, RequestContextMiddleware
from shared.migrate import head_revision
from shared.reads import ReadRouting
from shared.settings import get_http_settings

log = logging.getLogger(__name__)

ExtraLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, title in (
        (400, "Bad request"),
        (401, "Missing, unknown or revoked credentials"),
        (403, "The credentials do not allow this call"),
        (422, "Validation failed"),
        (503, "The database is unavailable; retry after Retry-After seconds"),
    )
}


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
            "type": "object",
            "description": "RFC 9457 problem details",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "array", "items": {}},
                            "msg": {"type": "string"},
                        },
                    },
                },
            },
            "required": ["type", "title", "status", "detail"],
        }
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
        }
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _freeze_startup_heap() -> None:
    # Everything imported and built at start-up (FastAPI, SQLAlchemy, pydantic schemas) lives for the
    # whole process; left in the collected generations, every full collection walks it again, a
    # 30-50 ms pause measured as the p99 of registry reads. Frozen, collections see only new objects.
    gc.collect()
    gc.freeze()


def create_app(
    *,
    service: str,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    extra_lifespan: ExtraLifespan | None = None,
    engine_factory: Callable[[], AsyncEngine] | None = None,
    path_limits: Sequence[tuple[str, int]] = (),
    version: str = "0.1.0",
    app_class: type[FastAPI] = FastAPI,
    read_replica: bool = False,
) -> FastAPI:
    """A service app: engine and sessionmaker made in the lifespan, shared probes, metrics and errors."""
    configure_logging(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engine_factory() if engine_factory else make_engine(application_name=f"citycam-{service}")
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.head_revision = head_revision()
        if read_replica:
            # ReadSessionDep's routing: the standby of CITYCAM_DB_READ_URL, bound by its replay lag.
            app.state.reads = ReadRouting.from_settings(app.state.sessionmaker)
        log.info("service starting", extra={"event": "startup"})
        try:
            if extra_lifespan is not None:
                async with extra_lifespan(app):
                    _freeze_startup_heap()
                    yield
            else:
                _freeze_startup_heap()
                yield
        finally:
            if read_replica:
                await app.state.reads.close()
            await engine.dispose()
            log.info("service stopped", extra={"event": "shutdown"})

    # app_class lets a service answer a hot path before FastAPI's own per-request work (ingest does).
    app = app_class(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        docs_url=None,
        redoc_url=None,
    )
    install_offline_docs(app)
    app.state.service = service
    install_problem_handlers(app)
    _add_problem_schema(app)

    @app.get(
        "/healthz",
        tags=["probes"],
        summary="Process alive (never touches the database)",
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get(
        "/readyz",
        tags=["probes"],
        summary="Database reachable and schema at the migration head",
        responses={503: {"description": "Not ready"}},
    )
    async def readyz(request: Request) -> Response:
        head = request.app.state.head_revision
        try:
            current = await schema_revision(request.app.state.engine)
        except Exception as exc:  # any failure to reach the database means not ready
            return problem_response(
                503,
                f"database unreachable ({type(exc).__name__})",
                headers={"Retry-After": "2"},
            )
        if current != head:
            return problem_response(
                503,
                f"schema at {current or 'nothing'}, expected {head}; run `citycam migrate`",
            )
        return JSONResponse({"status": "ready", "service": service, "revision": current})

    @app.get(
        "/metrics",
        tags=["probes"],
        summary="Prometheus metrics",
        response_class=Response,
    )
    async def metrics(request: Request) -> Response:
        if get_http_settings().metrics_require_auth:
            async with request.app.state.sessionmaker() as session:
                await authenticate(session, request.headers.get("authorization"))
                await session.commit()
        body, content_type = render()
        return Response(body, media_type=content_type)

    for router in routers:
        app.include_router(router)

    http = get_http_settings()
    app.add_middleware(
        InputGuardMiddleware,
        max_body_bytes=http.max_body_bytes,
        max_json_depth=http.max_json_depth,
        path_limits=path_limits,
    )
    app.add_middleware(RequestContextMiddleware, service=service)
    return app
