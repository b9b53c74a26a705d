"""The agent as a whole: start-up checks, /healthz and /metrics, heartbeats out, graceful stop."""

import asyncio
import json
import resource
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from services.probe.agent import Agent, AgentError, ensure_fd_limit, fds_needed
from services.probe.main import _LocalServer, create_app
from tests.helpers import free_port
from tests.probe.conftest import settings
from tests.probe.fakecam import FakeCamera, Script


class RecordingIngest:
    """A stand-in ingest on a real loopback port, recording batches."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.app = FastAPI()
        self.port = free_port()

        @self.app.post("/v1/heartbeats/batch")
        async def batch(request: Request) -> Response:
            body = json.loads(await request.body())
            self.items += body["heartbeats"]
            results = [{"camera": h["camera"], "status": 202} for h in body["heartbeats"]]
            return Response(json.dumps({"results": results}), media_type="application/json")


@pytest.fixture
async def recording_ingest() -> AsyncIterator[RecordingIngest]:
    ingest = RecordingIngest()
    config = uvicorn.Config(ingest.app, host="127.0.0.1", port=ingest.port, log_config=None, lifespan="off")
    server = _LocalServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield ingest
    server.should_exit = True
    await task


def _targets(path: Path, urls: list[str]) -> Path:
    items = [
        {"id": f"cam-{i}", "code": f"C-{i}", "stream_url": url, "heartbeat_interval_s": 5} for i, url in enumerate(urls)
    ]
    path.write_text(json.dumps({"items": items}))
    return path


def test_an_agent_without_a_gateway_token_or_targets_file_refuses_to_start() -> None:
    with pytest.raises(AgentError, match="GATEWAY_TOKEN"):
        Agent(settings())


def test_a_bad_credentials_file_is_an_agent_error(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[nope]\n")
    with pytest.raises(AgentError, match="unknown sections"):
        Agent(settings(targets_file=_targets(tmp_path / "t.json", []), credentials_file=bad), report=False)


def test_the_open_file_limit_is_raised_to_what_the_cap_needs() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        needed = fds_needed(3000, settings())
        assert ensure_fd_limit(needed) == needed == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_open_file_limit_below_the_need_is_refused_with_what_to_do() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with pytest.raises(AgentError, match="ulimit"):
        ensure_fd_limit(hard + 1)


async def test_the_agent_reports_serves_its_port_and_stops_gracefully(
    tmp_path: Path, recording_ingest: RecordingIngest
) -> None:
    port = free_port()
    async with FakeCamera(Script()) as good, FakeCamera(Script(auth="digest")) as locked:
        config = settings(
            targets_file=_targets(tmp_path / "t.json", [good.url(), locked.url(), f"rtsp://127.0.0.1:{free_port()}/"]),
            ingest_url=f"http://127.0.0.1:{recording_ingest.port}",
            gateway_token="cct_test",
            metrics_port=port,
        )
        agent = Agent(config)
        server = _LocalServer(uvicorn.Config(create_app(agent), host="127.0.0.1", port=port, log_config=None))
        serving = asyncio.create_task(server.serve())
        running = asyncio.create_task(agent.run())
        await asyncio.sleep(6.5)  # one 5 s interval and a batch
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            metrics = (await client.get("/metrics")).text
        agent.stop()
        await asyncio.wait_for(running, 10)
        server.should_exit = True
        await serving
    assert health.status_code == 200 and health.json()["cameras"] == 3
    assert 'citycam_probe_probes_total{result="ok",tier="rtsp"}' in metrics
    assert "citycam_probe_cycle_lag_seconds_bucket" in metrics and "citycam_probe_batches_total" in metrics
    by_camera = {item["camera"]: item for item in recording_ingest.items}
    assert set(by_camera) == {"cam-0", "cam-1"}  # the refusing camera gets no heartbeat
    assert by_camera["cam-1"]["errors"] == ["rtsp_auth"] and "errors" not in by_camera["cam-0"]
