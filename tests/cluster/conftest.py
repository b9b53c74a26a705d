"""One cluster (citycam/cluster) for the whole run: `make cluster-test` runs these, `make test` does not."""

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from citycam.cluster.postgres import psql
from citycam.cluster.settings import ClusterSettings
from citycam.cluster.stack import Cluster
from shared.settings import PROJECT_ROOT
from tests.helpers import bearer, camera

# The retention job every 2 s instead of hourly, so that "runs once" is seen within a test.
CLUSTER_ENV = {
    "CITYCAM_HEALTH_WEBHOOK_ALLOW_PRIVATE": "true",
    "CITYCAM_HEALTH_WEBHOOK_POLL_S": "0.2",
    "CITYCAM_INGEST_RETENTION_INTERVAL_S": "2",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The failover replaces the primary: it runs after every other cluster test.
    items.sort(key=lambda item: "test_failover" in item.nodeid)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: every pytest run on the machine makes /tmp/pytest-of-<user> private
    # again, which shuts out the Postgres system user mid-run.
    settings = ClusterSettings(
        dir=PROJECT_ROOT / ".data" / "cluster-test",
        base_port=int(os.environ.get("CITYCAM_CLUSTER_BASE_PORT", "55400")),
    )
    running = Cluster(settings, extra_env=CLUSTER_ENV)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def sql(cluster: Cluster, statement: str) -> list[list[str]]:
    """Rows of a statement on the current primary, each as its '|'-separated fields."""
    out = psql(cluster.primary.port, statement, database="citycam")
    return [line.split("|") for line in out.splitlines() if line]


_codes = iter(range(1000, 10_000))


def register(cluster: Cluster, count: int, **overrides: Any) -> list[dict[str, Any]]:
    """Register cameras through the registry's front; each with its id, code and device token."""
    made = []
    with httpx.Client(base_url=cluster.url("registry"), headers=bearer(cluster.admin_key), timeout=10) as client:
        for _ in range(count):
            r = client.post("/v1/cameras", json=camera(code=f"BTH-{next(_codes)}", **overrides))
            assert r.status_code == 201, r.text
            made.append(r.json())
    return made


def heartbeat(url: str, token: str, **body: Any) -> int:
    """POST one heartbeat; its status code."""
    return httpx.post(url + "/v1/heartbeats", json=body, headers=bearer(token), timeout=10).status_code


def wait_for(check: Any, timeout_s: float, what: str) -> Any:
    """Poll check() until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


@dataclass
class Receiver:
    """A webhook target on loopback recording every delivery."""

    url: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append({"delivery": self.headers.get("X-Citycam-Delivery"), **json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", got)
    finally:
        server.shutdown()
        server.server_close()


class SseReader:
    """Reads one replica's /v1/health/stream in a thread, collecting the event ids."""

    def __init__(self, url: str, key: str) -> None:
        self.ids: list[int] = []
        self.connected = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None), headers=bearer(key))
        self._url = url + "/v1/health/stream"
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._url) as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("id: "):
                        self.ids.append(int(line[4:]))
        except httpx.HTTPError:
            pass

    def close(self) -> None:
        """Stop reading."""
        self._client.close()


def log_lines(path: Path, needle: str) -> int:
    """How many lines of a log file contain needle."""
    return sum(needle in line for line in path.read_text(errors="replace").splitlines())
