"""Probes, metrics and request ids, the same on every service."""

import gc
import json
import logging

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.app import create_app
from shared.db import make_engine
from shared.migrate import head_revision
from tests.conftest import scratch_database
from tests.helpers import PROBLEM_JSON, free_port

SERVICES = ["registry", "ingest", "health"]


@pytest.fixture(params=SERVICES)
def service(request, registry, ingest, health) -> httpx.AsyncClient:
    return {"registry": registry, "ingest": ingest, "health": health}[request.param]


async def test_healthz_answers_without_a_database(service) -> None:
    r = await service.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_readyz_is_200_at_the_migration_head(service) -> None:
    r = await service.get("/readyz")
    assert r.status_code == 200
    assert r.json() | {"service": None} == {"status": "ready", "service": None, "revision": head_revision()}


async def _readyz_with(registry: httpx.AsyncClient, engine: AsyncEngine) -> httpx.Response:
    """GET /readyz with the registry app on engine for the call (the engine is disposed afterwards)."""
    from services.registry.main import app

    original = app.state.engine
    app.state.engine = engine
    try:
        return await registry.get("/readyz")
    finally:
        app.state.engine = original
        await engine.dispose()


async def test_readyz_is_503_when_the_schema_is_behind(registry) -> None:
    async with scratch_database("unmigrated", migrated=False) as url:
        r = await _readyz_with(registry, make_engine(url))
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_JSON
    assert "citycam migrate" in r.json()["detail"]


async def test_readyz_is_503_when_the_database_is_unreachable(registry) -> None:
    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none", connect_args={"timeout": 1})
    r = await _readyz_with(registry, engine)
    assert r.status_code == 503
    assert r.headers["retry-after"]


async def test_metrics_are_prometheus_text_with_request_counts(service) -> None:
    await service.get("/healthz")
    r = await service.get("/metrics")
    assert r.status_code == 200
    names = {family.name for family in text_string_to_metric_families(r.text)}
    assert "citycam_http_requests" in names
    assert "citycam_http_request_duration_seconds" in names


async def test_request_id_is_echoed(service) -> None:
    r = await service.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


async def test_request_id_is_generated_when_absent(service) -> None:
    r = await service.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32


async def test_unsafe_request_id_is_replaced(registry) -> None:
    r = await registry.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert r.headers["x-request-id"] != "bad id\twith spaces" + "x" * 200
    assert len(r.headers["x-request-id"]) == 32


async def test_log_lines_carry_the_request_id(registry, caplog) -> None:
    from shared.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="citycam.access")
    await registry.get("/v1/areas", headers={"X-Request-ID": "trace-me-42"})
    records = [r for r in caplog.records if r.name == "citycam.access"]
    assert records
    line = json.loads(JsonFormatter("registry").format(records[-1]))
    assert line["request_id"] == "trace-me-42"
    assert line["status"] == 401


async def test_openapi_documents_problem_responses(service) -> None:
    schema = (await service.get("/openapi.json")).json()
    assert "Problem" in schema["components"]["schemas"]


def test_log_lines_outside_requests_name_the_configured_service() -> None:
    from shared.logs import JsonFormatter

    record = logging.getLogger("uvicorn.error").makeRecord("uvicorn.error", logging.INFO, "x", 1, "started", (), None)
    line = json.loads(JsonFormatter("ingest").format(record))
    assert line["service"] == "ingest"
    assert "color_message" not in line


def _failing_app() -> FastAPI:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("simulated bug")

    return create_app(service="test", title="t", description="t", routers=[router])


# Built at import time: create_app configures logging, which must not replace pytest's capture mid-test.
FAILING_APP = _failing_app()


async def test_an_unexpected_error_is_a_500_problem_logged_with_the_request_id(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="citycam.access")
    transport = httpx.ASGITransport(app=FAILING_APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/boom", headers={"X-Request-ID": "bug-report-7"})
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["x-request-id"] == "bug-report-7"
    assert "simulated bug" not in r.text and "Traceback" not in r.text
    errors = [rec for rec in caplog.records if rec.levelno == logging.ERROR]
    assert errors and errors[-1].request_id == "bug-report-7"


async def test_startup_heap_is_frozen_so_full_collections_skip_it() -> None:
    gc.unfreeze()
    async with FAILING_APP.router.lifespan_context(FAILING_APP):
        frozen = gc.get_freeze_count()
    gc.unfreeze()
    assert frozen > 10_000
