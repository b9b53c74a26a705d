"""The whole replica setup as child processes: two Postgres nodes, haproxy, PgBouncer, two replicas of
each service; failover of the primary; the degrade watchdog of sync_mode=degrade."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from citycam.cli.keys import ensure_admin_key
from citycam.cli.stack import SERVICE_APPS, uvicorn_command
from citycam.cluster import proxies
from citycam.cluster.layout import REPLICAS, SERVICES, Layout
from citycam.cluster.postgres import ANY_STANDBY, Node, psql, run_as
from citycam.cluster.settings import ClusterSettings, SyncMode, get_cluster_settings
from shared import migrate
from shared.db import async_url, make_engine, make_sessionmaker
from shared.settings import get_database_settings

READY_TIMEOUT_S = 180.0


@dataclass
class Child:
    """A process of the cluster, leading its own process group, its output in a log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    user: str | None = None
    echo: bool = False
    process: subprocess.Popen[bytes] | None = None
    _pump: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start (again) with the same command and environment."""
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=self.user,
            cwd="/" if self.user else None,
        )
        self._pump = threading.Thread(target=self._copy, args=(self.process.stdout,), daemon=True)
        self._pump.start()

    def _copy(self, stream: IO[bytes]) -> None:
        with self.log_path.open("ab") as log:
            for line in iter(stream.readline, b""):
                log.write(line)
                log.flush()
                if self.echo:
                    sys.stdout.write(f"{self.name:<10} | {line.decode('utf-8', 'replace')}")
                    sys.stdout.flush()

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        """Send a signal to the whole process group."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the group: the process dies without a word (its database sessions end with it)."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()
            if self._pump is not None:
                self._pump.join(timeout=2)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL what is left after timeout_s."""
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout_s)
        self.kill()


@dataclass(frozen=True)
class Failover:
    """What a failover took, in seconds from the SIGKILL of the primary."""

    promoted_s: float
    repointed_s: float
    standby_back_s: float


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: a port held only by connections in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Cluster:
    """Start, watch, fail over and stop the replica setup."""

    def __init__(
        self, settings: ClusterSettings | None = None, *, extra_env: dict[str, str] | None = None, echo: bool = False
    ) -> None:
        self.settings = settings or get_cluster_settings()
        self.layout = Layout(self.settings.base_port)
        self.dir = self.settings.dir.resolve()
        self.echo = echo
        self.extra_env = extra_env or {}
        a_port, b_port = self.layout.postgres
        self.nodes = {
            name: Node(name, port, self.dir / f"pg-{name}", self.dir / "logs" / f"pg-{name}.log")
            for name, port in (("a", a_port), ("b", b_port))
        }
        self.primary_name = "a"
        self.children: dict[str, Child] = {}
        self.admin_key = ""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    @property
    def primary(self) -> Node:
        """The node pg_rw points at."""
        return self.nodes[self.primary_name]

    @property
    def standby(self) -> Node:
        """The other node."""
        return self.nodes["b" if self.primary_name == "a" else "a"]

    def url(self, service: str, index: int | None = None) -> str:
        """A service through haproxy, or one replica of it."""
        port = self.layout.front(service) if index is None else self.layout.replica(service, index)
        return f"http://127.0.0.1:{port}"

    def start(self, *, replicas: bool = True) -> None:
        """Everything, in order; returns when every replica and front answers /readyz (replicas=False:
        the databases and proxies only, for a benchmark that runs services of its own)."""
        proxies.require(proxies.HAPROXY)
        proxies.require(proxies.PGBOUNCER)
        self._wait_free(list(self.layout.postgres))
        # A new cluster every start: the data directories are made again, so are the logs.
        shutil.rmtree(self.dir / "logs", ignore_errors=True)
        (self.dir / "logs").mkdir(parents=True)
        # As root the servers run as the embedded user, which must be able to reach self.dir: unlike the
        # embedded server (a mount namespace of its own), the cluster needs a checkout whose parents that
        # user can traverse; nothing outside the project is chmod-ed.
        user = run_as()
        self.primary.init_primary()
        self._migrate()
        self.standby.init_standby(self.primary.port)
        self.primary.wait_streaming(self.standby.name)
        self.primary.set_sync_standbys(ANY_STANDBY)
        self._start_proxies(user)
        if replicas:
            self._start_services()
            self.wait_ready()
        self.use_sync_mode(self.settings.sync_mode)

    def use_sync_mode(self, mode: SyncMode) -> None:
        """What a commit waits for while the standby is down, from now on (block or degrade)."""
        with self._lock:
            self.settings.sync_mode = mode
            if mode == "block":
                self.primary.set_sync_standbys(ANY_STANDBY)
        if mode == "degrade" and self._watchdog is None:
            self._watchdog = threading.Thread(target=self._degrade_watchdog, daemon=True, name="cluster-degrade")
            self._watchdog.start()

    def _wait_free(self, ports: list[int]) -> None:
        # The ports may lie in the kernel's ephemeral range, where any client connection (or its
        # TIME_WAIT, 60 s) may hold one for a while: each group is checked just before it binds, and a
        # port still taken after 75 s is another server's.
        deadline = time.monotonic() + 75
        for port in ports:
            while not _port_free(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"port {port} is taken: the cluster needs {self.layout.size} free ports from "
                        f"{self.layout.base} (CITYCAM_CLUSTER_BASE_PORT); is another cluster running?"
                    )
                time.sleep(0.5)

    def _migrate(self) -> None:
        url = async_url(self.layout.url(self.primary.port))
        migrate.upgrade(url)
        # PgBouncer cannot carry statement_timeout from a client: the database's default is the same limit.
        timeout_ms = get_database_settings().statement_timeout_ms
        psql(self.primary.port, f"ALTER DATABASE citycam SET statement_timeout = {int(timeout_ms)}")
        self.admin_key = asyncio.run(self._bootstrap_admin(url))

    async def _bootstrap_admin(self, url: str) -> str:
        key_file = self.dir / "admin.key"
        engine = make_engine(url, application_name="citycam-cluster", direct=True)
        try:
            async with make_sessionmaker(engine)() as session:
                await ensure_admin_key(session, key_file)
                await session.commit()
        finally:
            await engine.dispose()
        configured = os.environ.get("CITYCAM_ADMIN_KEY")
        return configured or key_file.read_text().strip()

    def _start_proxies(self, user: str | None) -> None:
        layout = self.layout
        fronts = [layout.front(service) for service in SERVICES]
        self._wait_free([layout.haproxy_rw, layout.haproxy_ro, layout.pgbouncer, layout.stats, *fronts])
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(proxies.haproxy_config(self.layout, self.dir))
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(proxies.pgbouncer_config(self.layout, self.dir))
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        for path in (ini, self.dir / "userlist.txt"):
            path.chmod(0o644)
        self._spawn("haproxy", proxies.haproxy_command(cfg), dict(os.environ))
        self._spawn("pgbouncer", proxies.pgbouncer_command(ini), dict(os.environ), user=user)
        self._wait(lambda: psql(self.layout.haproxy_rw, "SELECT 1") == "1", "haproxy's pg_rw")
        self._wait(lambda: psql(self.layout.pgbouncer, "SELECT 1", database="citycam") == "1", "pgbouncer")

    def service_env(self) -> dict[str, str]:
        """The environment of every replica: pooled, direct and read URLs."""
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        return env | {
            "DATABASE_URL": self.layout.url(self.layout.pgbouncer),
            "CITYCAM_DB_DIRECT_URL": self.layout.url(self.layout.haproxy_rw),
            "CITYCAM_DB_READ_URL": self.layout.url(self.layout.haproxy_ro),
            "CITYCAM_DB_PREPARED_STATEMENTS": "false",
            "CITYCAM_DB_DATA_DIR": str(self.dir),
            "CITYCAM_LOG_JSON": "true",
            **self.extra_env,
        }

    def _start_services(self) -> None:
        env = self.service_env()
        self._wait_free([self.layout.replica(s, i) for s in SERVICES for i in range(1, REPLICAS + 1)])
        for service in SERVICES:
            for index in range(1, REPLICAS + 1):
                port = self.layout.replica(service, index)
                command = uvicorn_command(
                    SERVICE_APPS[service], "127.0.0.1", port, 1, "--timeout-graceful-shutdown", "10"
                )
                self._spawn(f"{service}-{index}", command, env)

    def _spawn(self, name: str, command: list[str], env: dict[str, str], user: str | None = None) -> None:
        child = Child(name, command, env, self.dir / "logs" / f"{name}.log", user=user, echo=self.echo)
        child.start()
        self.children[name] = child

    def _wait(self, check: object, what: str, timeout_s: float = 30.0) -> None:
        assert callable(check)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if check():
                    return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not come up within {timeout_s:.0f} s; logs in {self.dir / 'logs'}")
            time.sleep(0.2)

    def ready(self, name: str) -> bool:
        """Whether one replica (e.g. ingest-2) answers /readyz with 200."""
        service, index = name.rsplit("-", 1)
        try:
            return httpx.get(self.url(service, int(index)) + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, names: list[str] | None = None, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait for replicas (default: all) and the fronts to be ready."""
        names = names or [f"{s}-{i}" for s in SERVICES for i in range(1, REPLICAS + 1)]
        for name in names:
            if not self.children[name].alive():
                raise RuntimeError(f"{name} exited; see {self.children[name].log_path}")
            self._wait(lambda n=name: self.ready(n), name, timeout_s)
        for service in SERVICES:
            self._wait(lambda s=service: httpx.get(self.url(s) + "/readyz", timeout=2).status_code == 200, service)

    def failover(self) -> Failover:
        """SIGKILL the primary, promote the standby, re-point pg_rw, rebuild the old primary as the standby."""
        with self._lock:
            old, new = self.primary, self.standby
            killed = time.monotonic()
            old.kill()
            new.promote()
            promoted = time.monotonic() - killed
            # block: commits wait for a standby again at once; degrade: the new primary commits alone
            # until its standby streams.
            new.set_sync_standbys(ANY_STANDBY if self.settings.sync_mode == "block" else "")
            proxies.point(self.dir, "pg_rw", new.name)
            proxies.point(self.dir, "pg_ro", None)
            self.primary_name = new.name
            repointed = time.monotonic() - killed
            old.init_standby(new.port)
            new.wait_streaming(old.name)
            new.set_sync_standbys(ANY_STANDBY)
            proxies.point(self.dir, "pg_ro", old.name)
            return Failover(promoted, repointed, time.monotonic() - killed)

    def _degrade_watchdog(self) -> None:
        missing_since: float | None = None
        while not self._stopping.wait(0.5):
            with self._lock:
                if self.settings.sync_mode != "degrade":
                    missing_since = None
                    continue
                try:
                    streaming = self.primary.streaming_standbys()
                    current = self.primary.sync_standbys()
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                    continue
                if streaming:
                    missing_since = None
                    if current != ANY_STANDBY:
                        self.primary.set_sync_standbys(ANY_STANDBY)
                    continue
                missing_since = missing_since or time.monotonic()
                if current and time.monotonic() - missing_since >= self.settings.degrade_after_s:
                    # No standby for degrade_after_s: commit on the primary alone (a 202 is then on one server).
                    self.primary.set_sync_standbys("")

    def stop(self) -> None:
        """Stop everything this cluster started: services, proxies, then both servers."""
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        for name in reversed(list(self.children)):
            self.children[name].stop()
        for node in self.nodes.values():
            node.stop()
