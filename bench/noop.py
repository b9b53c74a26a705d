"""The baseline: a no-op FastAPI endpoint taking the same heartbeat body, served like ingest (uvicorn, same workers)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

app = FastAPI(title="bench no-op")


class Heartbeat(BaseModel):
    """The fields of POST /v1/heartbeats, validated the plain FastAPI way and then dropped."""

    model_config = ConfigDict(extra="forbid")

    sent_at: datetime | None = None
    uptime_s: Annotated[int, Field(ge=0)] | None = None
    fps: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    bitrate_kbps: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    packet_loss_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    temperature_c: Annotated[float, Field(ge=-60, le=150, allow_inf_nan=False)] | None = None
    storage_free_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    firmware: Annotated[str, Field(max_length=100)] | None = None
    errors: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=32)] | None = None


class Accepted(BaseModel):
    received_at: datetime


@app.post("/v1/heartbeats", status_code=202)
async def heartbeat(body: Heartbeat) -> Accepted:
    return Accepted(received_at=datetime.now(UTC))


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
