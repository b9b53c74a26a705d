"""Settings of the tools alone: where `citycam up` binds the services (the services never read them)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PortSettings(BaseSettings):
    """Ports and bind address of the three services."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_", extra="ignore")

    host: str = "127.0.0.1"
    registry_port: int = Field(default=8001, ge=1, le=65535)
    ingest_port: int = Field(default=8002, ge=1, le=65535)
    health_port: int = Field(default=8003, ge=1, le=65535)
    # One worker measured faster than two on 2 cores: it leaves the other core to Postgres (bench/results.md).
    ingest_workers: int = Field(default=1, ge=1, le=16)


@lru_cache
def get_port_settings() -> PortSettings:
    """Port settings from the environment."""
    return PortSettings()
