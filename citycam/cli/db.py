"""`citycam db start|stop|status`: the embedded Postgres under .data/pg."""

import typer

from citycam import embedded
from citycam.cli.common import console, ensure_database
from shared.settings import get_database_settings

app = typer.Typer(no_args_is_help=True)


@app.command()
def start() -> None:
    """Start the embedded Postgres (initialising it the first time); a running one is left alone."""
    if get_database_settings().url:
        console.print("DATABASE_URL is set: the embedded server is not used")
        raise typer.Exit(0)
    url, _ = ensure_database()
    console.print(f"embedded Postgres running: {url}")


@app.command()
def stop() -> None:
    """Stop the embedded Postgres."""
    settings = get_database_settings()
    state = embedded.stop(settings.data_dir, settings.embedded_port)
    console.print("embedded Postgres stopped" if not state.running else "embedded Postgres still running")


@app.command()
def status() -> None:
    """Say whether the embedded Postgres runs; exit 1 when it does not."""
    settings = get_database_settings()
    state = embedded.status(settings.data_dir, settings.embedded_port)
    if state.running:
        console.print(f"running (pid {state.pid}) on 127.0.0.1:{state.port}, data in {state.pgdata}")
    else:
        console.print(f"not running (data in {state.pgdata})")
        raise typer.Exit(1)
