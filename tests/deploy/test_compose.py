"""The compose file is valid Compose and wires the stack as documented: Postgres, a one-shot migrate job
that needs the operator's first admin key, three services on /readyz."""

import subprocess
import sys
from pathlib import Path

import yaml

from tests.deploy.conftest import ROOT, SERVICES

COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against the Compose specification schema it ships (vendor.compose-spec)."""
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def test_compose_file_matches_the_compose_specification() -> None:
    result = _check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_rejects_an_unknown_service_key(tmp_path) -> None:
    broken = _compose()
    broken["services"]["registry"]["helthcheck"] = broken["services"]["registry"].pop("healthcheck")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    assert _check_compose_schema(path).returncode != 0


def test_migrate_job_requires_the_operators_admin_key() -> None:
    # ${VAR:?message}: compose refuses to start, with the message, when the variable is unset or empty.
    key = _compose()["services"]["migrate"]["environment"]["CITYCAM_ADMIN_KEY"]
    assert key.startswith("${CITYCAM_ADMIN_KEY:?") and "first admin key" in key


def test_only_the_migrate_job_sees_the_admin_key() -> None:
    services = _compose()["services"]
    for name in SERVICES:
        assert "CITYCAM_ADMIN_KEY" not in services[name]["environment"]


def test_services_wait_for_the_migration_job() -> None:
    services = _compose()["services"]
    for name in SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_services_health_check_readyz() -> None:
    services = _compose()["services"]
    for name in SERVICES:
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])


def test_migrate_job_runs_citycam_migrate_after_postgres_is_healthy() -> None:
    migrate = _compose()["services"]["migrate"]
    assert migrate["command"] == ["citycam", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_installs_from_the_lock() -> None:
    assert "uv sync --locked" in (ROOT / "deploy" / "Dockerfile").read_text()


def test_the_probe_agent_runs_from_its_own_image_target_only_on_request() -> None:
    probe = _compose()["services"]["probe"]
    assert probe["build"]["target"] == "probe" and probe["profiles"] == ["probe"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "FROM base AS probe" in dockerfile and 'CMD ["python", "-m", "services.probe"]' in dockerfile
    # The default build (the last stage) stays the services' image.
    assert dockerfile.strip().splitlines()[-1] == "FROM base AS services"
