"""The bench's own stack: a Postgres database nobody else uses, and the services plus the no-op on free ports."""

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from citycam import embedded
from citycam.cli.stack import SERVICE_APPS, multiprocess_metrics, uvicorn_command
from shared import migrate as migrations
from shared.db import async_url, plain_url, valid_database_name

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class BenchStack:
    """Owns the database (embedded under work_dir, or a dedicated database on a given server) and processes."""

    work_dir: Path
    server_url: str | None = None  # a postgresql:// URL of a server to create the bench database on
    database_name: str = "citycam_bench"
    ingest_workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    database_url: str = ""
    _embedded_port: int | None = None

    def start_database(self) -> str:
        """Create (afresh) the bench database and migrate it; return its postgresql:// URL."""
        valid_database_name(self.database_name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.server_url is None:
            # Never the developer's .data: the bench's server lives under its own work dir.
            state = embedded.status(self.work_dir, 0)
            if state.running:
                embedded.stop(self.work_dir, 0)
            self._embedded_port = free_port()
            embedded.start(self.work_dir, self._embedded_port)
            server = f"postgresql://postgres@127.0.0.1:{self._embedded_port}/postgres"
        else:
            server = plain_url(self.server_url)
        base, _, _ = server.rpartition("/")
        self.database_url = f"{base}/{self.database_name}"
        asyncio.run(self._recreate(server))
        migrations.upgrade(async_url(self.database_url))
        return self.database_url

    async def _recreate(self, server: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{self.database_name}"')
        finally:
            await conn.close()

    def spawn(self, name: str, app: str, workers: int) -> Service:
        """Start one uvicorn process (logs to work_dir/logs/<name>.log)."""
        port = free_port()
        logs = self.work_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{name}.log"
        env = dict(os.environ, DATABASE_URL=self.database_url, **self.env)
        if workers > 1 and name != "noop":
            # As `citycam up` runs them.
            env |= multiprocess_metrics(self.work_dir / f"prometheus-{name}")
        options = ("--log-level", "warning", "--timeout-graceful-shutdown", "10")
        cmd = uvicorn_command(app, "127.0.0.1", port, workers, *options)
        with log_path.open("wb") as fh:
            process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        service = Service(name=name, port=port, process=process, log_path=log_path)
        self.services[name] = service
        return service

    def start_services(self) -> None:
        """Registry (1 worker), ingest and the no-op (ingest_workers each), health (1 worker)."""
        self.spawn("registry", SERVICE_APPS["registry"], 1)
        self.spawn("ingest", SERVICE_APPS["ingest"], self.ingest_workers)
        self.spawn("health", SERVICE_APPS["health"], 1)
        self.spawn("noop", "bench.noop:app", self.ingest_workers)

    def wait_ready(self, timeout_s: float = 90.0) -> dict[str, str]:
        """Wait for every /readyz (the no-op's /healthz); return the services that failed and why."""
        deadline = time.monotonic() + timeout_s
        pending = dict(self.services)
        failed: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            for name, service in list(pending.items()):
                if service.process.poll() is not None:
                    failed[name] = f"exited with {service.process.returncode}; see {service.log_path}"
                    del pending[name]
                    continue
                probe = "/healthz" if name == "noop" else "/readyz"
                try:
                    if httpx.get(service.url + probe, timeout=1.0).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        failed.update({name: "not ready in time" for name in pending})
        return failed

    def stop(self) -> None:
        """Stop every process, then the embedded server when it is ours."""
        for service in self.services.values():
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for service in self.services.values():
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        if self._embedded_port is not None:
            embedded.stop(self.work_dir, self._embedded_port)
