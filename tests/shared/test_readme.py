"""The README documents every setting: a variable added to a settings class without a line there fails."""

from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from citycam.cluster.settings import ClusterSettings
from citycam.settings import PortSettings
from citycam.simulator.settings import SimulatorSettings
from services.health.console.settings import ConsoleSettings
from services.health.settings import HealthSettings
from services.ingest.settings import IngestSettings
from services.probe.settings import ProbeSettings
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
    ConsoleSettings,
    ProbeSettings,
    SimulatorSettings,
    ClusterSettings,
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


def _commands(group: Any, prefix: str) -> list[str]:
    names = []
    for name, command in group.commands.items():
        names += _commands(command, f"{prefix} {name}") if hasattr(command, "commands") else [f"{prefix} {name}"]
    return names


def test_the_command_table_lists_every_command() -> None:
    import typer.main

    from citycam.cli import app

    table = README.split("### The `citycam` command", 1)[1].split("## Architecture", 1)[0]
    commands = _commands(typer.main.get_command(app), "citycam")
    missing = [c for c in commands if f"`{c} " not in table and f"`{c}`" not in table]
    assert missing == [] and len(commands) >= 10
