"""The chaos suite's real processes: a Postgres of its own (to kill, freeze and restart), `citycam up`
against it, heartbeat load over HTTP, and one line of figures per scenario at the end of the run.

Run by `make chaos` (pytest --chaos); `make test` leaves it out."""

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from citycam import embedded
from shared import migrate
from shared.tokens import issue_api_key
from tests.conftest import UpStack, citycam_up
from tests.helpers import bearer, free_port
from tests.ingest.conftest import Device, add_camera
from tests.ingest.conftest import missing_acked as ingest_missing

FIGURES: list[str] = []
# One INFO line per request would bury a failure's report.
logging.getLogger("httpx").setLevel(logging.WARNING)

# The per-camera rate limit is the ingest's own defence, not what these scenarios test: raised so the
# load can be a few cameras in tight loops. Webhook targets on loopback are the test's receivers.
STACK_ENV = {
    "CITYCAM_INGEST_RATE_PER_S": "1000",
    "CITYCAM_INGEST_RATE_BURST": "1000",
    "CITYCAM_HEALTH_WEBHOOK_ALLOW_PRIVATE": "true",
    "CITYCAM_HEALTH_WEBHOOK_BACKOFF_S": "0.5",
    "CITYCAM_LOG_LEVEL": "WARNING",
    # Two workers, so a killed supervisor must also take down the workers under the uvicorn master.
    "CITYCAM_INGEST_WORKERS": "2",
}


def report(scenario: str, **figures: object) -> None:
    """Note a scenario's figures for the summary line printed at the end of the run."""
    FIGURES.append(f"{scenario:<28} " + "  ".join(f"{name}={value}" for name, value in figures.items()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("chaos figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@dataclass
class OwnPostgres:
    """A Postgres of the suite's own: its data directory, port and (migrated) database URL."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return embedded.url(self.port, "postgres")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def postmaster(self) -> int:
        pid = embedded.status(self.data_dir, self.port).pid
        assert pid is not None, "the suite's Postgres is not running"
        return pid


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    """Started once for the run; a private (0700) temporary directory, as root too."""
    data_dir = Path(tempfile.mkdtemp(prefix="citycam-chaos-pg-"))
    pg = OwnPostgres(data_dir, free_port())
    try:
        embedded.start(pg.data_dir, pg.port)
        migrate.upgrade(pg.url)
        yield pg
    finally:
        embedded.stop(pg.data_dir, pg.port)
        shutil.rmtree(data_dir, ignore_errors=True)


async def add_cameras(pg: OwnPostgres, count: int) -> list[Device]:
    """Committed cameras with live device tokens."""
    conn = await asyncpg.connect(pg.dsn)
    try:
        return [await add_camera(conn) for _ in range(count)]
    finally:
        await conn.close()


# One for the run: `citycam up` creates the first admin key only on a database without one, and every
# stack of the run shares the suite's database.
ADMIN_KEY = issue_api_key().secret


@contextlib.contextmanager
def _stack(pg: OwnPostgres, tmp: pytest.TempPathFactory) -> Iterator[tuple[UpStack, str]]:
    with citycam_up(pg.url, tmp, admin_key=ADMIN_KEY, **STACK_ENV) as up:
        yield up, ADMIN_KEY


@pytest.fixture(scope="module")
def stack(own_postgres: OwnPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpStack, str]]:
    """`citycam up` against the suite's Postgres, with its admin key, for a module's scenarios (each
    leaves it serving); SIGTERM at the end."""
    with _stack(own_postgres, tmp_path_factory) as started:
        yield started


@pytest.fixture
def own_stack(own_postgres: OwnPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpStack, str]]:
    """A `citycam up` for one scenario alone, which may kill it."""
    with _stack(own_postgres, tmp_path_factory) as started:
        yield started


@dataclass
class Sample:
    sent: float
    done: float
    status: int


@dataclass
class HeartbeatLoad:
    """Cameras posting heartbeats in loops; every answer is kept, and every acknowledged row."""

    base_url: str
    cameras: list[Device]
    pause_s: float = 0.05
    samples: list[Sample] = field(default_factory=list)
    acked: list[tuple[object, datetime]] = field(default_factory=list)
    transport_errors: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _loop(self, client: httpx.AsyncClient, cam: Device) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                response = await client.post("/v1/heartbeats", json={"fps": 20}, headers=bearer(cam.token))
            except httpx.TransportError:
                self.transport_errors += 1
                await asyncio.sleep(0.1)
                continue
            self.samples.append(Sample(sent, time.monotonic(), response.status_code))
            if response.status_code == 202:
                self.acked.append((cam.id, datetime.fromisoformat(response.json()["received_at"])))
            await asyncio.sleep(self.pause_s)

    async def run(self) -> AsyncIterator[None]:
        """Loops running while the caller's block runs (an async generator for contextlib)."""
        limits = httpx.Limits(max_connections=len(self.cameras))
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30, limits=limits) as client:
            tasks = [asyncio.create_task(self._loop(client, cam)) for cam in self.cameras]
            try:
                yield
            finally:
                self._stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)

    def between(self, start: float, end: float) -> list[Sample]:
        """Answers to heartbeats sent in [start, end)."""
        return [s for s in self.samples if start <= s.sent < end]

    def first_ok_after(self, moment: float) -> float | None:
        """When the first heartbeat sent after moment was acknowledged."""
        return min((s.done for s in self.samples if s.status == 202 and s.sent >= moment), default=None)


async def missing_acked(pg: OwnPostgres, acked: list[tuple[object, datetime]]) -> int:
    """How many acknowledged heartbeats are not in the suite's database."""
    conn = await asyncpg.connect(pg.dsn)
    try:
        return await ingest_missing(conn, acked)
    finally:
        await conn.close()


def descendants(pid: int) -> set[int]:
    """pid and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        current = pending.pop()
        found.add(current)
        pending.extend(children.get(current, []))
    return found


def running(pids: set[int]) -> set[int]:
    """The pids still running (a zombie waiting to be reaped runs no more)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            alive.add(pid)
    return alive


def rss_mb(pids: set[int]) -> float:
    """Resident memory of the processes, in MB."""
    total = 0
    for pid in running(pids):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def port_of(url: str) -> int:
    """The port of a base URL."""
    return int(url.rsplit(":", 1)[1])


def child_named(up: UpStack, name: str) -> set[int]:
    """The processes of one service (its uvicorn and workers) under `citycam up`."""
    for pid in descendants(up.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"services.{name}.main:app" in cmdline:
            return descendants(pid)
    raise AssertionError(f"no {name} process under citycam up")
