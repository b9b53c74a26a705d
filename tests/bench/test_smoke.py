"""`python -m bench --smoke`: the whole bench (its own database, real services, wrk) writes every row."""

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.rows import all_rows
from tests.conftest import ROOT, SERVER_URL, TEST_DB_NAME, drop_database

BENCH_DB = f"{TEST_DB_NAME}_bench"


@pytest.fixture
async def bench_database() -> AsyncIterator[str]:
    """The database name the bench recreates; dropped afterwards."""
    yield BENCH_DB
    await drop_database(BENCH_DB)


@pytest.mark.e2e
def test_smoke_run_writes_every_row_and_the_chart(tmp_path: Path, bench_database: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--out",
            str(tmp_path),
            "--work-dir",
            str(tmp_path / "work"),
            "--database-url",
            SERVER_URL,
            "--database-name",
            bench_database,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = (tmp_path / "results.md").read_text(encoding="utf-8")
    for row in all_rows():
        line = next((x for x in results.splitlines() if f"| {row.name} |" in x), None)
        assert line is not None, f"missing row {row.name}"
        # Each row has a figure and a verdict, or says why it was not measured.
        assert " | met | " in line or " | MISSED | " in line or "not measured: " in line, line
    assert "- machine: " in results and "- date: " in results
    assert (tmp_path / "ingest.png").stat().st_size > 1000
