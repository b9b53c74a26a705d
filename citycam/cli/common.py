"""Helpers the CLI commands share: resolving the database and running async code."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from citycam import embedded
from citycam.simulator.settings import get_simulator_settings
from shared.db import EMBEDDED_DATABASE, database_url
from shared.settings import get_database_settings

T = TypeVar("T")
console = Console(stderr=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from a synchronous command."""
    return asyncio.run(coro)


def ensure_database() -> tuple[str, bool]:
    """The database URL to use, starting the embedded server when DATABASE_URL is unset.

    Returns the URL and whether this call started the embedded server.
    """
    settings = get_database_settings()
    if settings.url:
        return database_url(settings), False
    before = embedded.status(settings.data_dir, settings.embedded_port)
    if not before.running:
        console.print(f"[bold]starting embedded Postgres[/] in {before.pgdata} on 127.0.0.1:{settings.embedded_port}")
    embedded.start(settings.data_dir, settings.embedded_port)
    embedded.ensure_database(settings.embedded_port, EMBEDDED_DATABASE)
    return database_url(settings), not before.running


def progress_bar() -> Progress:
    """The CLI's progress display: a described bar with counts and elapsed time, on stderr."""
    return Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def summary_table(title: str, rows: list[tuple[str, int]]) -> Table:
    """A two-column summary of counts, as the commands print when they finish."""
    table = Table(title=title, show_header=True)
    table.add_column("what")
    table.add_column("rows", justify="right")
    for what, count in rows:
        table.add_row(what, f"{count:,}")
    return table


def read_api_key(explicit: str | None) -> str:
    """The key given, else CITYCAM_SIM_API_KEY, else the bootstrap admin key file."""
    settings = get_simulator_settings()
    key = explicit or settings.api_key
    if key:
        return key
    path = settings.key_file()
    try:
        return path.read_text().strip()
    except OSError:
        console.print(f"[red]no API key: pass --api-key or run `citycam migrate` to write {path}[/]")
        raise typer.Exit(2) from None
