"""The compose file wires the stack as documented: Postgres, a one-shot migrate job, three services on /readyz."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_wait_for_the_migration_job() -> None:
    services = _compose()["services"]
    for name in ("registry", "ingest", "health"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_services_health_check_readyz() -> None:
    services = _compose()["services"]
    for name in ("registry", "ingest", "health"):
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])


def test_migrate_job_runs_citycam_migrate_after_postgres_is_healthy() -> None:
    migrate = _compose()["services"]["migrate"]
    assert migrate["command"] == ["citycam", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_installs_from_the_lock() -> None:
    assert "uv sync --locked" in (ROOT / "deploy" / "Dockerfile").read_text()
