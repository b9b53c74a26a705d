"""The README documents every setting: a variable added to a settings class without a line there fails."""

from pathlib import Path

from pydantic_settings import BaseSettings

from citycam.settings import PortSettings
from citycam.simulator.settings import SimulatorSettings
from services.health.settings import HealthSettings
from services.ingest.settings import IngestSettings
from services.registry.settings import RegistrySettings
from shared.settings import AuthSettings, DatabaseSettings, HttpSettings, LogSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
CLASSES: list[type[BaseSettings]] = [
    DatabaseSettings,
    HttpSettings,
    LogSettings,
    AuthSettings,
    PortSettings,
    RegistrySettings,
    IngestSettings,
    HealthSettings,
    SimulatorSettings,
]


def _variables(cls: type[BaseSettings]) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = []
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names.append(alias if isinstance(alias, str) else (prefix + name).upper())
    return names


def test_every_setting_is_in_the_readme() -> None:
    missing = [v for cls in CLASSES for v in _variables(cls) if f"`{v}`" not in README]
    assert missing == []
