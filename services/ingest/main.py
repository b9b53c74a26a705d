"""The ingest service (port 8002): the app, whose two heartbeat POSTs go to HeartbeatFront (front.py)
while the IngestRuntime (runtime.py) runs; router.py's routes document them and are the fallback."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from services.ingest import metrics
from services.ingest.front import BATCH_PATH, PATHS, SINGLE_PATH, HeartbeatFront
from services.ingest.rate_limit import RateLimiter
from services.ingest.router import fallback_router
from services.ingest.runtime import IngestRuntime
from services.ingest.schemas import openapi_components
from services.ingest.service import Connect
from services.ingest.settings import IngestSettings, get_ingest_settings
from shared.app import create_app
from shared.db import async_url, asyncpg_options, database_url, direct_database_url, make_engine, plain_url
from shared.settings import get_database_settings

# The LISTEN connection and the retention job's session advisory lock need a server session of their
# own, so they bypass a transaction-pooling PgBouncer; the writers and look-ups go through it.
DIRECT_PURPOSES = frozenset({"listener", "retention"})


def _connector(url: str) -> Callable[[str], Connect]:
    db = get_database_settings()
    direct_url = direct_database_url(url)

    def for_purpose(purpose: str) -> Connect:
        server_settings = {"application_name": f"citycam-ingest-{purpose}"}
        if db.statement_timeout_ms:
            server_settings["statement_timeout"] = str(db.statement_timeout_ms)
        direct = purpose in DIRECT_PURPOSES
        dsn = plain_url(direct_url if direct else url)
        options = asyncpg_options(direct=direct, settings=db)

        async def connect() -> asyncpg.Connection:
            # synchronous_commit is left at the server's setting (on): a 202 survives a crash.
            return await asyncpg.connect(dsn, server_settings=server_settings, **options)

        return connect

    return for_purpose


class IngestApp(FastAPI):
    """FastAPI, except that while the runtime runs the two heartbeat POSTs are answered first, before
    FastAPI's per-request telemetry check, the middleware stack, routing and dependency injection
    (they cost more than the heartbeat itself). The declared routes stay for OpenAPI and for an app
    whose runtime is not running."""

    front: HeartbeatFront
    # The running runtime, also app.state.ingest: read here as a plain attribute, since a State
    # look-up goes through a Python __getattr__ on every heartbeat.
    runtime: IngestRuntime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST" and scope["path"] in PATHS:
                runtime = self.runtime
                if runtime is not None:
                    await self.front.serve(runtime, scope, receive, send)
                    return
            elif scope["path"] == "/metrics":
                metrics.publish()
        await super().__call__(scope, receive, send)


def build_app(url: str | None = None, settings: IngestSettings | None = None) -> FastAPI:
    """The ingest app; `url` overrides DATABASE_URL and `settings` the environment's (for tests)."""
    settings = settings or get_ingest_settings()

    @asynccontextmanager
    async def runtime_lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = IngestRuntime(settings, app.state.limiter, _connector(url or database_url()))
        await runtime.start()
        app.state.ingest = runtime
        assert isinstance(app, IngestApp)
        app.runtime = runtime
        try:
            yield
        finally:
            # uvicorn has answered every in-flight request by now; commit anything still queued.
            app.runtime = None
            del app.state.ingest
            await runtime.close()

    app = create_app(
        service="ingest",
        title="citycam ingest",
        description="Durable heartbeats from cameras and gateways.",
        routers=[fallback_router],
        extra_lifespan=runtime_lifespan,
        engine_factory=(lambda: make_engine(async_url(url), application_name="citycam-ingest")) if url else None,
        # Batch first: the single path is a prefix of it. These hold the fallback routes to the
        # limits HeartbeatFront applies itself.
        path_limits=[(BATCH_PATH, settings.max_batch_body_bytes), (SINGLE_PATH, settings.max_single_body_bytes)],
        app_class=IngestApp,
    )
    assert isinstance(app, IngestApp)
    app.front = HeartbeatFront("ingest")
    app.state.limiter = RateLimiter(settings.rate_per_s, settings.rate_burst)
    _add_body_schemas(app)
    return app


def _add_body_schemas(app: FastAPI) -> None:
    shared_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = shared_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(openapi_components())
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


app = build_app()
