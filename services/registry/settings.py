"""Registry settings."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrySettings(BaseSettings):
    """Limits of the registry's bulk paths."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_REGISTRY_", extra="ignore")

    # 10,000 rows of a full export are about 4 MB; the default leaves room for 100,000.
    import_max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)


@lru_cache
def get_registry_settings() -> RegistrySettings:
    """Registry settings from the environment."""
    return RegistrySettings()
