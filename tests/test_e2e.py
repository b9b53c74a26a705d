"""`citycam up` as real processes: three services on free ports, a camera registered and read over HTTP."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import scratch_database
from tests.helpers import bearer, camera, free_port

pytestmark = pytest.mark.e2e

ADMIN_KEY = "cck_e2e-admin-key-for-tests-only-0123456789abcdef"


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    urls: dict[str, str]


@pytest.fixture(scope="module")
async def e2e_database() -> AsyncIterator[str]:
    # Unmigrated: `citycam up` migrates it, as it would a new deployment's.
    async with scratch_database("e2e", migrated=False) as url:
        yield url


@pytest.fixture(scope="module")
def stack(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = {name: free_port() for name in ("registry", "ingest", "health")}
    env = dict(
        os.environ,
        DATABASE_URL=e2e_database,
        CITYCAM_ADMIN_KEY=ADMIN_KEY,
        CITYCAM_DB_DATA_DIR=str(tmp_path_factory.mktemp("data")),
        CITYCAM_REGISTRY_PORT=str(ports["registry"]),
        CITYCAM_INGEST_PORT=str(ports["ingest"]),
        CITYCAM_HEALTH_PORT=str(ports["health"]),
    )
    log = tmp_path_factory.mktemp("logs") / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "citycam.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    deadline = time.monotonic() + 90
    pending = set(urls)
    while pending and time.monotonic() < deadline and process.poll() is None:
        for name in list(pending):
            try:
                if httpx.get(urls[name] + "/readyz", timeout=1).status_code == 200:
                    pending.discard(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    if pending:
        process.kill()
        pytest.fail(f"services not ready: {pending}\n{log.read_text()[-3000:]}")
    yield Stack(process=process, urls=urls)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)


def test_every_service_is_ready(stack: Stack) -> None:
    for url in stack.urls.values():
        assert httpx.get(url + "/readyz").json()["status"] == "ready"


def test_register_then_read_a_camera_over_http(stack: Stack) -> None:
    base = stack.urls["registry"]
    created = httpx.post(base + "/v1/cameras", json=camera(code="E2E-0001"), headers=bearer(ADMIN_KEY))
    assert created.status_code == 201
    assert created.json()["device_token"].startswith("cct_")
    by_location = httpx.get(base + created.headers["location"], headers=bearer(ADMIN_KEY))
    assert by_location.status_code == 200
    assert by_location.json()["code"] == "E2E-0001"
    assert by_location.headers["etag"] == created.headers["etag"]


def test_sigterm_stops_every_service_cleanly(stack: Stack) -> None:
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
