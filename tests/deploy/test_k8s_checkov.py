"""checkov finds nothing in the rendered overlays beyond the committed, reasoned skip list."""

import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import K8S, ROOT

# Its own environment (make deploy-tools): checkov's pins would downgrade the project's packages.
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIPS = K8S / "checkov" / "skips.yaml"

Finding = tuple[str, str]  # check id, resource id (Kind.namespace.name)


@pytest.fixture(scope="session")
def findings(rendered_dir: Path) -> list[Finding]:
    """checkov's failed checks on the rendered overlays; --skip-download keeps it offline."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV.relative_to(ROOT)} is missing: run `make deploy-tools`")
    args = ["--directory", str(rendered_dir), "--framework", "kubernetes", "--output", "json", "--quiet"]
    out = subprocess.run(
        [str(CHECKOV), *args, "--compact", "--skip-download"],
        capture_output=True,
        text=True,
    )
    assert out.returncode in (0, 1), out.stderr
    report = json.loads(out.stdout) if out.stdout.strip() else {}
    # --quiet prints an empty result when every check passed.
    failed = report.get("results", {}).get("failed_checks", []) if isinstance(report, dict) else []
    return [(f["check_id"], f["resource"]) for f in failed]


def _skips() -> list[dict[str, Any]]:
    return yaml.safe_load(SKIPS.read_text())


def _skipped(finding: Finding, skip: dict[str, Any]) -> bool:
    check, resource = finding
    return skip["check"] == check and any(fnmatch.fnmatchcase(resource, p) for p in skip["resources"])


def test_checkov_finds_nothing_outside_the_skip_list(findings: list[Finding]) -> None:
    unexpected = [f for f in findings if not any(_skipped(f, s) for s in _skips())]
    assert unexpected == []


def test_every_skip_still_matches_a_finding(findings: list[Finding]) -> None:
    stale = [s for s in _skips() if not any(_skipped(f, s) for f in findings)]
    assert stale == []


def test_every_skip_gives_its_reason() -> None:
    for skip in _skips():
        assert len(skip["reason"].split()) >= 8, skip["check"]
