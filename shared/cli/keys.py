"""`citycam keys create`: issue an API key from the command line."""

from typing import Annotated

import typer

from shared.cli.common import console, ensure_database, run
from shared.db import make_engine, make_sessionmaker
from shared.models import ROLES, ApiKey
from shared.tokens import issue_api_key

app = typer.Typer(no_args_is_help=True)


async def _create(url: str, name: str, role: str, districts: list[str] | None) -> str:
    engine = make_engine(url, application_name="citycam-cli")
    try:
        async with make_sessionmaker(engine)() as session:
            issued = issue_api_key()
            session.add(ApiKey(name=name, role=role, districts=districts, prefix=issued.prefix, key_hash=issued.hash))
            await session.commit()
            return issued.secret
    finally:
        await engine.dispose()


@app.command()
def create(
    role: Annotated[str, typer.Option(help="admin, field, operator or monitor")],
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in the audit trail)")],
    district: Annotated[list[str] | None, typer.Option(help="Limit writes to this district (repeatable)")] = None,
) -> None:
    """Create an API key and print it once."""
    if role not in ROLES:
        console.print(f"[red]role must be one of {', '.join(ROLES)}[/]")
        raise typer.Exit(2)
    url, _ = ensure_database()
    secret = run(_create(url, name, role, sorted(set(district)) if district else None))
    console.print(f"created {role} key [bold]{name}[/] (shown once):")
    print(secret)
