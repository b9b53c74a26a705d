"""`citycam migrate` and `citycam up`: bring the database to the head and run the three services."""

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated

import httpx
import typer

import services.health
import services.ingest
import services.registry
from citycam import embedded, linux
from citycam.cli.common import console, ensure_database, run
from citycam.cli.keys import ensure_admin_key
from citycam.errors import StartupError
from citycam.settings import get_port_settings
from shared import migrate as migrations
from shared.db import make_engine, make_sessionmaker, plain_url
from shared.settings import get_database_settings

# Each service's uvicorn app, named from its imported package so that the dependency of the tool on
# the services is an import import-linter sees. Only the packages are imported (their __init__ is
# empty): importing `main` would build the three apps in this process and configure its logging.
SERVICE_APPS = {
    package.__name__.removeprefix("services."): f"{package.__name__}.main:app"
    for package in (services.registry, services.ingest, services.health)
}
COLOURS = {"registry": "cyan", "ingest": "magenta", "health": "green"}


async def _bootstrap_admin(url: str) -> str | None:
    engine = make_engine(url, application_name="citycam-cli")
    try:
        async with make_sessionmaker(engine)() as session:
            key = await ensure_admin_key(session, get_database_settings().data_dir / "admin.key")
            await session.commit()
            return key
    finally:
        await engine.dispose()


def migrate_and_bootstrap() -> tuple[str, bool]:
    """Start the database if needed, migrate to the head, create the first admin key if there is none."""
    url, started = ensure_database()
    migrations.upgrade(url)
    console.print(f"schema at revision {migrations.head_revision()}")
    key = run(_bootstrap_admin(url))
    if key is not None:
        key_file = get_database_settings().data_dir / "admin.key"
        console.print(f"[bold yellow]created the first admin key[/] (shown once; also in {key_file}, mode 0600):")
        print(key, flush=True)
    return url, started


def migrate() -> None:
    """Migrate the database to the newest schema (starting the embedded server if DATABASE_URL is unset)."""
    migrate_and_bootstrap()


@dataclass
class Child:
    name: str
    port: int
    process: subprocess.Popen[bytes]


def _pump(name: str, stream: IO[bytes]) -> None:
    colour = COLOURS.get(name, "white")
    width = max(len(n) for n in COLOURS)
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        console.print(f"[{colour}]{name:<{width}}[/] | ", end="", highlight=False)
        # The line itself is printed verbatim, so JSON logs stay machine-readable after the prefix.
        console.out(line, highlight=False)


def uvicorn_command(app: str, host: str, port: int, workers: int, *options: str) -> list[str]:
    """The command line serving app (module:attribute) with uvicorn, without its access log, in a process
    (and workers) killed when the process that starts it dies (citycam.serve)."""
    cmd = [sys.executable, "-m", "citycam.serve", app, "--host", host, "--port", str(port), "--no-access-log", *options]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    return cmd


def multiprocess_metrics(metrics_dir: Path) -> dict[str, str]:
    """The environment under which several workers share one /metrics (prometheus-client's multiprocess
    mode), in metrics_dir emptied first: counts of an earlier start must not add to this one's."""
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def _spawn(name: str, port: int, host: str, url: str, workers: int) -> Child:
    env = dict(os.environ, DATABASE_URL=plain_url(url))
    if workers > 1:
        env |= multiprocess_metrics(get_database_settings().data_dir / f"prometheus-{name}")
    cmd = uvicorn_command(SERVICE_APPS[name], host, port, workers, "--timeout-graceful-shutdown", "20")
    # Each service leads its own process group, so stopping it also reaches uvicorn's workers even
    # when their master has died (they would otherwise linger, holding the port).
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(name, process.stdout), daemon=True).start()
    return Child(name=name, port=port, process=process)


def start_services(url: str) -> list[Child]:
    """Registry, ingest (with its configured workers) and health on the configured ports, against url."""
    ports = get_port_settings()
    specs = [
        ("registry", ports.registry_port, 1),
        ("ingest", ports.ingest_port, ports.ingest_workers),
        ("health", ports.health_port, 1),
    ]
    return [_spawn(name, port, ports.host, url, workers) for name, port, workers in specs]


class StopRequest:
    """Ctrl-C or SIGTERM, noted without taking any lock: the handler only stores the signal number
    (a threading.Event.set() there could deadlock on the lock the interrupted main thread holds), and
    signal.set_wakeup_fd wakes the waiting loop at once through a pipe."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = signum

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only)."""
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def is_set(self) -> bool:
        """Whether a stop was asked for."""
        return self.signum is not None

    def wait(self, timeout_s: float) -> bool:
        """Sleep until a signal arrives or timeout_s passes; whether a stop was asked for."""
        if not self.is_set():
            select.select([self._read], [], [], timeout_s)
            with contextlib.suppress(BlockingIOError):
                while os.read(self._read, 512):
                    pass
        return self.is_set()


def wait_ready(children: list[Child], host: str, timeout_s: float, stopping: StopRequest | None = None) -> bool:
    """Whether every service answered /readyz with 200 within timeout_s (False as soon as one dies or a
    stop is asked for)."""
    deadline = time.monotonic() + timeout_s
    pending = {c.name: c for c in children}
    while pending and time.monotonic() < deadline and not (stopping and stopping.is_set()):
        for name, child in list(pending.items()):
            if child.process.poll() is not None:
                return False
            try:
                if httpx.get(f"http://{host}:{child.port}/readyz", timeout=1.0).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    return not pending


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _stop(children: list[Child], timeout_s: float = 25.0) -> None:
    """SIGTERM every service's process group, wait for a graceful exit, SIGKILL what is left."""
    for child in children:
        _signal_group(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        while _group_alive(child.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(child.process.pid, signal.SIGKILL)
        child.process.wait()


def stop_services(children: list[Child], *, started_db: bool) -> None:
    """Stop the services, then the embedded Postgres when this command started it."""
    console.print("stopping services")
    _stop(children)
    if started_db:
        settings = get_database_settings()
        embedded.stop(settings.data_dir, settings.embedded_port)
        console.print("embedded Postgres stopped")


def check_ports_free(ports: dict[str, int]) -> None:
    """Fail at once, naming the holder, when one of the ports (variable name: port) is taken: a start
    beside a running stack would otherwise report ready while talking to the old processes."""
    taken = [(variable, port, holder) for variable, port in ports.items() if (holder := linux.port_holder(port))]
    if taken:
        lines = [
            f"port {port} ({variable}) is already in use by {holder.describe()}" for variable, port, holder in taken
        ]
        what_to_do = "stop that process (is another `citycam up` running?) or set the variable to a free port"
        raise StartupError("; ".join(lines) + ": " + what_to_do)


def service_ports() -> dict[str, int]:
    """The ports `citycam up` binds, by the variable that sets each."""
    ports = get_port_settings()
    return {
        "CITYCAM_REGISTRY_PORT": ports.registry_port,
        "CITYCAM_INGEST_PORT": ports.ingest_port,
        "CITYCAM_HEALTH_PORT": ports.health_port,
    }


def up(
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every /readyz")] = 120.0,
) -> None:
    """Start the database (when embedded), migrate, then run registry, ingest and health until Ctrl-C."""
    check_ports_free(service_ports())
    stopping = StopRequest()
    stopping.install()
    url, started_db = migrate_and_bootstrap()
    host = get_port_settings().host
    children = start_services(url)
    exit_code = 0
    try:
        if wait_ready(children, host, ready_timeout, stopping):
            console.print("[bold green]all services ready[/]")
            for child in children:
                console.print(f"  {child.name:<8} http://{host}:{child.port}/docs")
        elif not stopping.is_set():
            console.print("[bold red]a service did not become ready[/]")
            exit_code = 1
        while exit_code == 0 and not stopping.wait(0.5):
            dead = [c for c in children if c.process.poll() is not None]
            for child in dead:
                console.print(f"[bold red]{child.name} exited with code {child.process.returncode}[/]")
                exit_code = 1
    finally:
        stop_services(children, started_db=started_db)
    raise typer.Exit(exit_code)
