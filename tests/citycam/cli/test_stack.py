"""`citycam up`'s supervisor: a stop signal that cannot deadlock, and ports checked before anything starts."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from citycam.cli.stack import StopRequest
from tests.conftest import ROOT


@pytest.fixture
def own_signals() -> Iterator[None]:
    """The test's SIGINT/SIGTERM handlers and wakeup fd, put back afterwards."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    wakeup = signal.set_wakeup_fd(-1)
    try:
        yield
    finally:
        signal.set_wakeup_fd(wakeup)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def test_sigterm_wakes_the_waiting_supervisor(own_signals: None) -> None:
    stopping = StopRequest()
    stopping.install()
    assert not stopping.wait(0.01)
    os.kill(os.getpid(), signal.SIGTERM)
    assert stopping.wait(30)
    assert stopping.signum == signal.SIGTERM


def test_the_handler_takes_no_lock(own_signals: None) -> None:
    # A handler that takes a lock the interrupted code holds deadlocks; this one must only record.
    stopping = StopRequest()
    stopping.install()
    handler = signal.getsignal(signal.SIGINT)
    assert callable(handler)
    assert handler.__code__.co_names == ("signum",)


def test_up_fails_at_once_naming_the_process_on_its_port() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "citycam.cli", "up"],
            env={
                **os.environ,
                "COLUMNS": "400",
                "CITYCAM_INGEST_PORT": str(port),
                "DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
            },
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"port {port} (CITYCAM_INGEST_PORT) is already in use by pid {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr
