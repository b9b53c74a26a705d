"""`citycam`: the one command for the database, migrations, keys and the running stack."""

import typer

from citycam.cli import areas, cameras, db, failures, keys, probe, simulate, stack

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, callback=failures.debug_option)
app.add_typer(db.app, name="db", help="The embedded Postgres (used when DATABASE_URL is unset).")
app.add_typer(keys.app, name="keys", help="API keys for people and systems.")
app.add_typer(areas.app, name="areas", help="Reference areas (districts, wards) and their boundaries.")
app.add_typer(cameras.app, name="cameras", help="Cameras to and from a spreadsheet's CSV, over the registry API.")
app.command("migrate")(stack.migrate)
app.command("up")(stack.up)
app.command("simulate")(simulate.simulate)
app.command("demo")(simulate.demo)
app.command("probe")(probe.probe)


def main() -> None:
    """The `citycam` entry point: the app, with start-up failures as one message (citycam.cli.failures)."""
    failures.main(app)
