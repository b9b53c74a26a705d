"""Settings, one pydantic-settings class per concern, each read once through get_*()."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    """Where Postgres is; with no DATABASE_URL the embedded server under data_dir is used."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_DB_", extra="ignore")

    url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = PROJECT_ROOT / ".data"
    embedded_port: int = Field(default=54329, ge=1, le=65535)
    pool_size: int = Field(default=10, ge=1, le=200)
    max_overflow: int = Field(default=10, ge=0, le=200)
    pool_timeout_s: float = Field(default=5.0, gt=0)
    statement_timeout_ms: int = Field(default=15000, ge=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # Connections that need a server session of their own (LISTEN, session advisory locks) must not go
    # through a transaction-pooling PgBouncer: they use this URL (unset = DATABASE_URL).
    direct_url: str | None = None
    # False behind PgBouncer older than 1.21 (no prepared-statement tracking): pooled connections then
    # use unnamed statements only, the direct ones keep their statement cache.
    prepared_statements: bool = True
    # Health's reads may go to a standby; they fall back to the primary while it lags more than this.
    read_url: str | None = None
    read_max_lag_s: float = Field(default=5.0, ge=0)
    read_check_every_s: float = Field(default=1.0, gt=0)


class HttpSettings(BaseSettings):
    """Request limits shared by every service."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_HTTP_", extra="ignore")

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=2, le=1000)
    metrics_require_auth: bool = False
    # Set for services run with several uvicorn workers: /metrics then sums every worker's values.
    prometheus_multiproc_dir: str | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")


class LogSettings(BaseSettings):
    """Log level and format."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_LOG_", extra="ignore")

    level: str = "INFO"
    json_format: bool = Field(default=True, validation_alias="CITYCAM_LOG_JSON")


class AuthSettings(BaseSettings):
    """Bootstrap admin key and how often last_used_at is refreshed."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_", extra="ignore")

    admin_key: str | None = None
    last_used_resolution_s: int = Field(default=60, ge=0)


@lru_cache
def get_database_settings() -> DatabaseSettings:
    """Database settings from the environment."""
    return DatabaseSettings()


@lru_cache
def get_http_settings() -> HttpSettings:
    """HTTP limits from the environment."""
    return HttpSettings()


@lru_cache
def get_log_settings() -> LogSettings:
    """Log settings from the environment."""
    return LogSettings()


@lru_cache
def get_auth_settings() -> AuthSettings:
    """Auth settings from the environment."""
    return AuthSettings()
