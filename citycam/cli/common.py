"""Helpers the CLI commands share: resolving the database and running async code."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console

from citycam import embedded
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
