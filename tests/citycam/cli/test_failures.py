"""Start-up failures of every command: one clear message and exit 1, the traceback only with --debug."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, database_url_for
from tests.helpers import free_port


def _citycam(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "citycam.cli", *args],
        env={**clean, "COLUMNS": "400", **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def _one_message(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["migrate"], ["up"], ["keys", "create", "--role", "admin", "--name", "x"]])
def test_a_refused_connection_is_one_message(command: list[str]) -> None:
    port = free_port()
    line = _one_message(_citycam(*command, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/citycam"))
    assert f"127.0.0.1:{port}/citycam" in line
    assert "connection refused" in line


def test_a_missing_database_is_one_message() -> None:
    line = _one_message(_citycam("migrate", DATABASE_URL=database_url_for("citycam_no_such_database")))
    assert 'database "citycam_no_such_database" does not exist' in line


def test_a_bad_setting_names_its_variable() -> None:
    line = _one_message(_citycam("up", CITYCAM_REGISTRY_PORT="eighty"))
    assert "CITYCAM_REGISTRY_PORT='eighty'" in line


def test_debug_shows_the_traceback() -> None:
    port = free_port()
    result = _citycam("--debug", "migrate", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/citycam")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
