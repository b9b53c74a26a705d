"""The heartbeat loop against a real HTTP server standing in for ingest: what it sends, when, and the tally."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from citycam.simulator.client import Credentials
from citycam.simulator.fleet import generate_fleet
from citycam.simulator.runner import Runner, RunOptions
from citycam.simulator.scenarios import Blip, Combined
from tests.helpers import free_port


class FakeIngest:
    """Records who reported and the second of the run it was due in (the simulator sends uptime_s =
    3600 + that second); refuses one token with 401 so rejections are counted."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, str]] = []
        self.app = FastAPI()

        @self.app.post("/v1/heartbeats", status_code=202)
        async def single(request: Request, response: Response) -> dict[str, str]:
            token = request.headers["authorization"].removeprefix("Bearer ")
            self.arrivals.append(((await request.json())["uptime_s"] - 3600, token))
            if token == "revoked":
                response.status_code = 401
            return {"received_at": "2026-01-01T00:00:00Z"}

        @self.app.post("/v1/heartbeats/batch")
        async def batch(request: Request) -> dict[str, list[dict[str, object]]]:
            body = await request.json()
            self.arrivals.extend((item["uptime_s"] - 3600, item["camera"]) for item in body["heartbeats"])
            return {"results": [{"camera": item["camera"], "status": 202} for item in body["heartbeats"]]}


@pytest.fixture
async def fake_ingest() -> AsyncIterator[tuple[FakeIngest, str]]:
    fake = FakeIngest()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_blip_silences_the_fleet_then_everyone_reconnects_and_the_tally_adds_up(
    fake_ingest: tuple[FakeIngest, str],
) -> None:
    fake, url = fake_ingest
    fleet = generate_fleet(60, seed=5)
    for camera in fleet.cameras:
        camera.heartbeat_interval_s = 1
    for gateway in fleet.gateways:
        gateway.heartbeat_interval_s = 1
    creds = Credentials(
        camera_tokens={c.code: f"tok-{c.code}" for c in fleet.cameras},
        gateway_tokens={g.code: f"gw-{g.code}" for g in fleet.gateways},
    )
    first_direct = fleet.cameras[fleet.direct_cameras()[0]].code
    creds.camera_tokens[first_direct] = "revoked"
    runner = Runner(fleet, creds, Combined([Blip(at=1.0, length=1.0)]), RunOptions(ingest_url=url, duration_s=3.5))
    stats = await runner.run(asyncio.Event())

    assert fake.arrivals, "nothing arrived"
    assert not [who for second, who in fake.arrivals if second == 1], "a device reported during the blip"
    reconnect = {who for second, who in fake.arrivals if second == 2}
    direct_tokens = {creds.camera_tokens[fleet.cameras[i].code] for i in fleet.direct_cameras()}
    behind = {fleet.cameras[i].code for g in fleet.gateways for i in g.cameras}
    # Every device was silenced for a whole interval, and every one of them is back right after.
    assert direct_tokens | behind <= reconnect
    assert stats.heartbeats == len(fake.arrivals)
    assert stats.rejected == {"401": sum(1 for _, who in fake.arrivals if who == "revoked")}
    assert stats.accepted + stats.rejected["401"] == stats.heartbeats
