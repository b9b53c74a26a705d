"""Postgres servers from the embedded binaries: a primary, a streaming standby made by pg_basebackup,
promotion, and synchronous_standby_names, all driven through psql and pg_* tools."""

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from citycam import embedded
from citycam.cluster.layout import DATABASE

# Every standby is a synchronous candidate: the standby is whichever node is not the primary.
ANY_STANDBY = "*"


def bin_path(tool: str) -> str:
    """A tool of the embedded Postgres build."""
    return str(embedded._bin_dir() / tool)


def run_as() -> str | None:
    """The user Postgres (and PgBouncer) run as: a system user under root, since both refuse root."""
    return embedded._run_as()


def psql(port: int, sql: str, *, database: str = "postgres", timeout: float = 10.0) -> str:
    """One statement through psql; its unaligned output."""
    done = subprocess.run(
        [bin_path("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-tAXq", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.stdout.strip()


def answers(port: int) -> bool:
    """Whether a server accepts connections on port."""
    try:
        return psql(port, "SELECT 1", timeout=3.0) == "1"
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return False


@dataclass
class Node:
    """One server: its name (also its application_name as a standby), data directory and port."""

    name: str
    port: int
    pgdata: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def _tool(self, tool: str, *args: str, timeout: float = 120.0) -> None:
        done = subprocess.run(
            [bin_path(tool), *args], capture_output=True, text=True, timeout=timeout, user=run_as(), cwd="/"
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed for node {self.name}: {done.stderr.strip()[-2000:]}")

    def _fresh_dir(self) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(parents=True, mode=0o700)
        user = run_as()
        if user is not None:
            shutil.chown(self.pgdata, user=user, group=user)

    def init_primary(self) -> None:
        """A new, empty cluster with the citycam database."""
        self._fresh_dir()
        self._tool(
            "initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"
        )
        self.start()
        psql(self.port, f'CREATE DATABASE "{DATABASE}"')

    def init_standby(self, primary_port: int) -> None:
        """A copy of the primary at primary_port that streams from it (pg_basebackup -R)."""
        self._fresh_dir()
        conninfo = f"host=127.0.0.1 port={primary_port} user=postgres application_name={self.name}"
        self._tool("pg_basebackup", "-d", conninfo, "-D", str(self.pgdata), "-X", "stream", "-R", "-c", "fast")
        self.start()

    def start(self) -> None:
        """Run the server in its own process group (so that a crash can be a SIGKILL of the group)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                bin_path("postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.pgdata}",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "synchronous_commit=on",
                "-c",
                "wal_keep_size=256MB",
                "-c",
                "hot_standby=on",
                # Health reads on the standby are short; the standby tells the primary what they read.
                "-c",
                "hot_standby_feedback=on",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            user=run_as(),
            cwd="/",
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres {self.name} did not start; see {self.log_path}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the server and every backend at once: a crash, nothing flushed on the way out."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._close_log()

    def stop(self) -> None:
        """Fast shutdown (in-flight transactions roll back, committed data stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def promote(self) -> None:
        """End recovery: this standby becomes a primary (waits until it accepts writes)."""
        if psql(self.port, "SELECT pg_promote(true, 30)") != "t":
            raise RuntimeError(f"{self.name} was not promoted")

    def in_recovery(self) -> bool:
        """Whether the server is a standby."""
        return psql(self.port, "SELECT pg_is_in_recovery()") == "t"

    def set_sync_standbys(self, names: str) -> None:
        """synchronous_standby_names on this primary ('' = commit without waiting for a standby)."""
        quoted = names.replace("'", "''")
        psql(self.port, f"ALTER SYSTEM SET synchronous_standby_names = '{quoted}'")
        psql(self.port, "SELECT pg_reload_conf()")

    def sync_standbys(self) -> str:
        """The synchronous_standby_names in force."""
        return psql(self.port, "SHOW synchronous_standby_names")

    def streaming_standbys(self) -> list[str]:
        """application_name of each standby streaming from this primary, with its sync state."""
        rows = psql(
            self.port, "SELECT application_name || ':' || sync_state FROM pg_stat_replication WHERE state = 'streaming'"
        )
        return [r for r in rows.splitlines() if r]

    def wait_streaming(self, standby: str, timeout_s: float = 60.0) -> None:
        """Wait until the named standby streams from this primary."""
        deadline = time.monotonic() + timeout_s
        while not any(r.startswith(f"{standby}:") for r in self.streaming_standbys()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{standby} is not streaming from {self.name}")
            time.sleep(0.2)
