"""The health service (port 8003): the evaluator leader loop, webhook sender, retention job and SSE listener
live here."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from services.health import metrics, service
from services.health.console import sessions
from services.health.console.router import router as console_router
from services.health.dispatcher import Dispatcher
from services.health.evaluator import Evaluator
from services.health.retention import RetentionJob
from services.health.router import router
from services.health.settings import get_health_settings
from services.health.stream import Broadcaster
from shared.app import create_app
from shared.db import direct_database_url, plain_url

log = logging.getLogger(__name__)


class CameraGaugeMiddleware:
    """Refreshes citycam_cameras from the last pass just before /metrics renders, so the gauges agree
    with the summary for the same moment."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics" and scope["method"] == "GET":
            try:
                async with scope["app"].state.sessionmaker() as session:
                    meta = await service.current_meta(session)
                    metrics.CAMERAS.rows = await service.camera_counts(session, meta=meta)
            except Exception as exc:  # metrics must render even when the database is away
                log.warning("camera gauges not refreshed: %s", type(exc).__name__)
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def background(app: FastAPI) -> AsyncIterator[None]:
    """Run the evaluator campaign, the webhook sender and the retention job beside the API, and hold the SSE broadcaster
    (it connects when the first client subscribes); stop them all on shutdown."""
    settings = get_health_settings()
    # LISTEN, the leader's session lock and the passes run on that lock's connection need a server
    # session of their own: the direct URL (never a transaction pooler), always the primary.
    url = direct_database_url(app.state.engine.url.render_as_string(hide_password=False))
    broadcaster = Broadcaster(plain_url(url), app.state.sessionmaker, settings)
    app.state.broadcaster = broadcaster
    tasks: list[asyncio.Task[None]] = []
    stoppers: list[Callable[[], None]] = []
    if settings.evaluator_enabled:
        evaluator = Evaluator(url, settings)
        app.state.evaluator = evaluator
        tasks.append(asyncio.create_task(evaluator.run(), name="health-evaluator"))
        stoppers.append(evaluator.stop)
    if settings.webhooks_enabled:
        dispatcher = Dispatcher(app.state.sessionmaker, settings)
        tasks.append(asyncio.create_task(dispatcher.run(), name="health-webhooks"))
        stoppers.append(dispatcher.stop)
    if settings.retention_enabled:
        job = RetentionJob(app.state.sessionmaker, settings)
        tasks.append(asyncio.create_task(job.run(), name="health-retention"))
        stoppers.append(job.stop)
    try:
        yield
    finally:
        for stop in stoppers:
            stop()
        await broadcaster.stop()
        if tasks:
            await asyncio.wait(tasks, timeout=10)


def build_app(engine_factory: Callable[[], AsyncEngine] | None = None) -> FastAPI:
    """A health app (tests build their own against a scratch database)."""
    app = create_app(
        service="health",
        title="citycam health",
        description=(
            "Live camera and district health. Statuses are derived by one evaluator (leader-elected across "
            "replicas) and every read shows its verdicts as of `as_of`. Webhooks are managed by admin and "
            "operator keys; every other read is open to admin, field, operator and monitor keys."
        ),
        routers=[router, console_router],
        extra_lifespan=background,
        engine_factory=engine_factory,
        read_replica=True,
    )
    app.add_middleware(CameraGaugeMiddleware)
    # The console's session cookie signs browsers in to every health route (see shared.auth).
    app.state.cookie_authenticator = sessions.cookie_principal
    return app


app = build_app()
