"""Console settings: how long a sign-in lasts and when its cookie is Secure."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """The console's sign-in, set by CITYCAM_CONSOLE_* variables."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_CONSOLE_", extra="ignore")

    # A 12-hour shift: the wall signs in at the start of one and out at its end.
    session_ttl_s: int = Field(default=43200, ge=60, le=30 * 86400)
    # auto: Secure when the request came over HTTPS (directly or X-Forwarded-Proto from a trusted proxy).
    cookie_secure: Literal["auto", "always", "never"] = "auto"


@lru_cache
def get_console_settings() -> ConsoleSettings:
    """The console settings, read once."""
    return ConsoleSettings()
