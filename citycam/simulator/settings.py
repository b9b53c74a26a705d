"""Where the simulator finds the services and its API key."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from citycam.settings import get_port_settings
from shared.settings import get_database_settings


class SimulatorSettings(BaseSettings):
    """Service URLs default to the ports `citycam up` uses; the key to the one `citycam migrate` wrote."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_SIM_", extra="ignore")

    registry_url: str | None = None
    ingest_url: str | None = None
    health_url: str | None = None
    api_key: str | None = None
    api_key_file: Path | None = None

    def urls(self) -> tuple[str, str, str]:
        """Registry, ingest and health base URLs."""
        ports = get_port_settings()
        host = ports.host if ports.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104 - a bind-all address, not a bind
        return (
            self.registry_url or f"http://{host}:{ports.registry_port}",
            self.ingest_url or f"http://{host}:{ports.ingest_port}",
            self.health_url or f"http://{host}:{ports.health_port}",
        )

    def key_file(self) -> Path:
        """The file the bootstrap admin key was written to."""
        return self.api_key_file or get_database_settings().data_dir / "admin.key"


@lru_cache
def get_simulator_settings() -> SimulatorSettings:
    """Simulator settings from the environment."""
    return SimulatorSettings()
