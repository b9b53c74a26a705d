"""wrk, from Debian's package (installed with apt-get when missing), driven with our Lua scripts."""

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"


class WrkMissing(RuntimeError):
    """wrk is not installed and could not be installed."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    errors: int  # non-2xx/3xx statuses plus socket errors and timeouts
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        """Requests per second, whatever their status."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def ok_rps(self) -> float:
        """Successful (2xx/3xx) requests per second."""
        return max(0, self.requests - self.errors) / self.duration_s if self.duration_s else 0.0

    @property
    def error_share(self) -> float:
        """Share of requests that failed."""
        return self.errors / self.requests if self.requests else 1.0


def ensure_wrk(log: Callable[[str], None]) -> str:
    """The wrk binary, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise WrkMissing("wrk is not installed and there is no apt-get; install wrk 4.x")
    log("wrk is missing: installing it from Debian's packages (apt-get install wrk)")
    sudo = [] if _is_root() else ["sudo", "-n"]
    attempt = subprocess.run([*sudo, apt, "install", "-y", "-q", "wrk"], capture_output=True, text=True)
    if attempt.returncode != 0:
        subprocess.run([*sudo, apt, "update", "-q"], capture_output=True, text=True)
        attempt = subprocess.run([*sudo, apt, "install", "-y", "-q", "wrk"], capture_output=True, text=True)
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing(f"could not install wrk: {attempt.stderr.strip()[-300:]}")
    return found


def _is_root() -> bool:
    return os.geteuid() == 0


def run_wrk(
    wrk: str,
    url: str,
    script: str,
    args: list[str],
    *,
    threads: int,
    connections: int,
    duration_s: float,
    timeout_s: float = 10.0,
) -> WrkResult:
    """Run wrk with one of bench/lua's scripts and parse the JSON line its `done` prints."""
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:.0f}s",
        "-s",
        str(LUA_DIR / script),
        url,
        "--",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 120)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            errors = sum(
                data[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
            )
            return WrkResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                errors=errors,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result: {done.stdout[-500:]} {done.stderr[-500:]}")
