"""Under load: the database stopped and started (503 fast, then recovery, nothing acknowledged
lost) and SIGTERM on a real uvicorn process (in-flight answered, nothing acknowledged lost)."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from citycam import embedded
from shared import migrate
from shared.db import plain_url
from tests.conftest import ROOT
from tests.helpers import free_port
from tests.ingest.conftest import Device, add_camera, bearer, missing_acked, running_app

FAST = {"rate_per_s": 10000.0, "rate_burst": 10000.0, "reconnect_interval_s": 0.1}


class Load:
    """Clients posting heartbeats in a loop; remembers every acknowledged (camera, received_at)."""

    def __init__(self, client: httpx.AsyncClient, cameras: list[Device]) -> None:
        self.client = client
        self.cameras = cameras
        self.acked: list[tuple[object, datetime]] = []
        self.statuses: list[tuple[float, int]] = []
        self.stop = asyncio.Event()
        self.bad: list[str] = []

    async def _loop(self, cam: Device) -> None:
        while not self.stop.is_set():
            try:
                response = await self.client.post("/v1/heartbeats", json={"fps": 20}, headers=bearer(cam.token))
            except httpx.TransportError:
                await asyncio.sleep(0.02)
                continue
            self.statuses.append((time.monotonic(), response.status_code))
            if response.status_code == 202:
                self.acked.append((cam.id, datetime.fromisoformat(response.json()["received_at"])))
            elif response.status_code == 503:
                if "retry-after" not in response.headers:
                    self.bad.append("503 without Retry-After")
                await asyncio.sleep(0.02)
            else:
                self.bad.append(f"{response.status_code}: {response.text[:200]}")
                await asyncio.sleep(0.02)

    def start(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._loop(cam)) for cam in self.cameras]


@pytest.fixture(scope="module")
def own_postgres():
    """A Postgres of this test's own, so it can be stopped and started. Its directory is not under
    pytest's tmp_path: under root the server runs as another user, which must traverse every parent."""
    data_dir = Path(tempfile.mkdtemp(prefix="citycam-ingest-pg-"))
    data_dir.chmod(0o755)
    port = free_port()
    try:
        embedded.start(data_dir, port)
        yield data_dir, port
    finally:
        embedded.stop(data_dir, port)
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_database_stopped_and_started_under_load(own_postgres) -> None:
    data_dir, port = own_postgres
    url = embedded.url(port, "postgres")
    await asyncio.to_thread(migrate.upgrade, url)
    conn = await asyncpg.connect(plain_url(url))
    cameras = [await add_camera(conn) for _ in range(16)]
    await conn.close()
    async with running_app(url, **FAST) as (_, client):
        load = Load(client, cameras)
        tasks = load.start()
        await asyncio.sleep(0.7)
        before_stop = len(load.acked)
        await asyncio.to_thread(embedded.stop, data_dir, port)
        stopped_at = time.monotonic()
        await asyncio.sleep(0.8)
        during = [s for t, s in load.statuses if t > stopped_at + 0.2]
        await asyncio.to_thread(embedded.start, data_dir, port)
        started_at = time.monotonic()
        while time.monotonic() - started_at < 5 and not any(s == 202 and t > started_at for t, s in load.statuses):
            await asyncio.sleep(0.02)
        recovered_after = min((t for t, s in load.statuses if s == 202 and t > started_at), default=None)
        await asyncio.sleep(0.3)
        load.stop.set()
        await asyncio.gather(*tasks)
    assert before_stop > 0
    assert during and set(during) == {503}, "every heartbeat while the database was down got 503"
    assert recovered_after is not None and recovered_after - started_at < 2.0
    assert load.bad == []
    conn = await asyncpg.connect(plain_url(url))
    try:
        assert await missing_acked(conn, load.acked) == 0
    finally:
        await conn.close()


@pytest.mark.e2e
async def test_sigterm_under_load_loses_no_acknowledged_heartbeat(
    live_url, db: asyncpg.Connection, tmp_path: Path
) -> None:
    cameras = [await add_camera(db) for _ in range(24)]
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=plain_url(live_url),
        CITYCAM_INGEST_RATE_PER_S="10000",
        CITYCAM_INGEST_RATE_BURST="10000",
        CITYCAM_LOG_LEVEL="WARNING",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_file = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: ASYNC220 - started once; waited for in a thread
        [sys.executable, "-m", "uvicorn", "services.ingest.main:app", "--port", str(port), "--no-access-log"],
        cwd=Path(ROOT),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            # A bound for a loaded machine (CI shares its cores), not a performance figure.
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "uvicorn did not become ready"
                await asyncio.sleep(0.1)
            load = Load(client, cameras)
            tasks = load.start()
            await asyncio.sleep(0.8)
            acked_before = len(load.acked)
            process.send_signal(signal.SIGTERM)
            returncode = await asyncio.to_thread(process.wait, 15)
            load.stop.set()
            await asyncio.gather(*tasks)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log_file.close()
    logs = (tmp_path / "uvicorn.log").read_text()
    # uvicorn re-raises the signal once it has shut down cleanly, so the status is -SIGTERM.
    assert returncode in (0, -signal.SIGTERM), logs[-2000:]
    assert "Application shutdown complete" in logs
    assert acked_before > 0
    assert load.bad == []
    assert await missing_acked(db, load.acked) == 0
