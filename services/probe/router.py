"""The agent's local endpoints: /healthz and /metrics, on the operations port only."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.probe import metrics
from services.probe.dependencies import AgentDep

router = APIRouter()


@router.get("/healthz", summary="Whether the agent has a camera list and ingest takes its batches")
async def healthz(agent: AgentDep) -> JSONResponse:
    health = agent.health()
    return JSONResponse(
        {
            "status": "ok" if health.ok else "failing",
            "cameras": health.cameras,
            "last_refresh_age_s": health.last_refresh_age_s,
            "last_batch_ok_age_s": health.last_batch_ok_age_s,
            "detail": health.detail,
        },
        status_code=200 if health.ok else 503,
    )


@router.get("/metrics", summary="Prometheus metrics: checks by result, latency, cycle lag, batches")
async def prometheus() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
