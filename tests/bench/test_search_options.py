"""`python -m bench.search_options`: both indexing options measured on one server, same matches."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.search_options import OPTIONS
from tests.conftest import ROOT, SERVER_URL, TEST_DB_NAME


@pytest.mark.e2e
def test_small_run_measures_both_options_with_the_same_matches(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.search_options",
            "--no-embedded",
            "--database-url",
            SERVER_URL,
            "--database-name",
            f"{TEST_DB_NAME}_search_options",
            "--cameras",
            "1000",
            "--repeats",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in (tmp_path / "search_options.md").read_text().splitlines() if line.startswith("| Postgre")]
    assert [next(o.name for o in OPTIONS if f"| {o.name} |" in line) for line in table] == [o.name for o in OPTIONS]
    assert all(line.endswith("| yes |") for line in table), table
