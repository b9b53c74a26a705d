"""The embedded Postgres from any directory: a private (0700) one as root, a port already taken."""

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from citycam import embedded
from citycam.errors import StartupError
from tests.helpers import free_port


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """A directory only its owner may enter, as `mktemp -d` makes (or a home under /root)."""
    path = Path(tempfile.mkdtemp(prefix="citycam-private-"))
    assert path.stat().st_mode & 0o777 == 0o700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {p: p.stat().st_mode for p in paths}


def test_starts_inside_a_private_directory_without_loosening_any_parent(private_dir: Path) -> None:
    data_dir = private_dir / "clone" / ".data"
    outside = [private_dir, *private_dir.parents]
    before = _modes(outside)
    port = free_port()
    try:
        state = embedded.start(data_dir, port)
        embedded.ensure_database(port, "citycam_private_check")
        assert state.running
        assert _modes(outside) == before, "no directory outside the project changed its permissions"
    finally:
        embedded.stop(data_dir, port)


def test_stop_ends_the_server(private_dir: Path) -> None:
    data_dir = private_dir / ".data"
    port = free_port()
    embedded.start(data_dir, port)
    assert not embedded.stop(data_dir, port).running


def test_a_taken_port_names_the_process_holding_it(private_dir: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(StartupError) as caught:
            embedded.start(private_dir / ".data", port)
    message = str(caught.value)
    assert f"port {port}" in message
    assert f"pid {os.getpid()}" in message
    assert "CITYCAM_DB_EMBEDDED_PORT" in message
