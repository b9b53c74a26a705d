"""Start-up failures in one line: what failed, where, and what to do, instead of a traceback.

Every `citycam` command runs through main(): a failure the user can fix (the database refused or
missing, a bad setting, a port taken, a service unreachable) prints one message and exits 1; anything
else keeps its traceback. `citycam --debug ...` shows the traceback in every case.
"""

import socket
import sys

import asyncpg  # type: ignore[import-untyped]
import httpx
import pydantic
import typer
from pydantic_settings import BaseSettings
from rich.markup import escape
from sqlalchemy.engine import make_url

from citycam.cli.common import console
from citycam.errors import StartupError
from shared.db import database_url

EXIT_FAILURE = 1


class Options:
    """Global options of the command line, set by its callback."""

    debug = False


def debug_option(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of a failure."),
) -> None:
    """Global options, given before the command."""
    Options.debug = debug


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _where() -> str:
    """The database the command was using, without its password."""
    try:
        url = make_url(database_url())
    except Exception:  # a bad DATABASE_URL is described by its own error
        return "the database"
    return f"the database at {url.host}:{url.port or 5432}/{url.database} (DATABASE_URL)"


def _setting_variable(title: str, field: str) -> str:
    """The environment variable of a field of the settings class named title."""
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__name__ == title and field in cls.model_fields:
            alias = cls.model_fields[field].validation_alias
            return alias if isinstance(alias, str) else f"{cls.model_config.get('env_prefix', '')}{field}".upper()
    return field


def _describe_settings(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        problems.append(f"{_setting_variable(exc.title, field)}={error.get('input')!r}: {error['msg']}")
    return "bad setting: " + "; ".join(problems) + " (the README's Configuration lists every setting)"


def describe(exc: BaseException) -> str | None:
    """One message for a failure the user can fix, or None for one that keeps its traceback."""
    for cause in _chain(exc):
        if isinstance(cause, StartupError):
            return str(cause)
        if isinstance(cause, pydantic.ValidationError) and cause.title.endswith("Settings"):
            return _describe_settings(cause)
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            return f"{_where()}: {cause}: create it (createdb), or point DATABASE_URL at one that exists"
        if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
            return f"{_where()} refused the login: {cause}: check the user and password in DATABASE_URL"
        if isinstance(cause, httpx.TransportError):
            return f"cannot reach {cause.request.url.copy_with(query=None)}: {cause}: is the service running?"
        if isinstance(cause, ConnectionRefusedError):
            return f"cannot connect to {_where()}: connection refused: is Postgres running there?"
        if isinstance(cause, socket.gaierror):
            return f"cannot connect to {_where()}: unknown host ({cause}): check DATABASE_URL"
        if isinstance(cause, TimeoutError | OSError) and "connect" in str(cause).lower():
            return f"cannot connect to {_where()}: {cause or 'timed out'}: is Postgres reachable from here?"
    return None


def main(app: typer.Typer) -> None:
    """Run the command line app, rendering a failure the user can fix as one message."""
    try:
        app(standalone_mode=True)
    except Exception as exc:
        message = describe(exc)
        if message is None or Options.debug:
            raise
        console.print(f"[bold red]citycam:[/] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_FAILURE)
