"""`citycam up` as real processes: three services on free ports, a camera registered and read over HTTP."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import UpStack, citycam_up, scratch_database
from tests.helpers import bearer, camera, free_port

pytestmark = pytest.mark.e2e

ADMIN_KEY = "cck_e2e-admin-key-for-tests-only-0123456789abcdef"


@pytest.fixture(scope="module")
async def e2e_database() -> AsyncIterator[str]:
    # Unmigrated: `citycam up` migrates it, as it would a new deployment's.
    async with scratch_database("e2e", migrated=False) as url:
        yield url


@pytest.fixture(scope="module")
def stack(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    with citycam_up(e2e_database, tmp_path_factory, admin_key=ADMIN_KEY) as up:
        yield up


def test_every_service_is_ready(stack: UpStack) -> None:
    for url in stack.urls.values():
        assert httpx.get(url + "/readyz").json()["status"] == "ready"


def test_register_then_read_a_camera_over_http(stack: UpStack) -> None:
    base = stack.urls["registry"]
    created = httpx.post(base + "/v1/cameras", json=camera(code="E2E-0001"), headers=bearer(ADMIN_KEY))
    assert created.status_code == 201
    assert created.json()["device_token"].startswith("cct_")
    by_location = httpx.get(base + created.headers["location"], headers=bearer(ADMIN_KEY))
    assert by_location.status_code == 200
    assert by_location.json()["code"] == "E2E-0001"
    assert by_location.headers["etag"] == created.headers["etag"]


def test_sigterm_stops_every_service_cleanly(stack: UpStack) -> None:
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=40) == 0
    for url in stack.urls.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/healthz", timeout=1)


def test_up_exits_non_zero_when_a_service_dies(e2e_database: str, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("registry", "ingest", "health")}
    env = dict(
        os.environ,
        DATABASE_URL=e2e_database,
        CITYCAM_ADMIN_KEY=ADMIN_KEY,
        CITYCAM_DB_DATA_DIR=str(tmp_path),
        CITYCAM_REGISTRY_PORT=str(ports["registry"]),
        CITYCAM_INGEST_PORT=str(ports["ingest"]),
        CITYCAM_HEALTH_PORT=str(ports["health"]),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "citycam.cli", "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{ports['ingest']}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        ingest_children = [
            child
            for child in psutil.Process(process.pid).children()
            if "services.ingest.main:app" in " ".join(child.cmdline())
        ]
        assert ingest_children
        master = ingest_children[0]
        workers = master.children(recursive=True)
        master.kill()
        assert process.wait(timeout=40) == 1
        # The dead master's workers must not outlive it, holding the port.
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == []
    finally:
        if process.poll() is None:
            process.kill()
