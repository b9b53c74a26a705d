"""`citycam keys create`, and the first admin key `citycam migrate` creates on a database without one."""

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citycam.cli.common import console, ensure_database, run
from shared.db import make_engine, make_sessionmaker
from shared.models import ROLES, ApiKey
from shared.settings import get_auth_settings
from shared.tokens import hash_secret, issue_api_key

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


async def ensure_admin_key(session: AsyncSession, key_file: Path) -> str | None:
    """On a database with no live admin key, create one; return the key when it was generated here."""
    existing = await session.scalar(
        select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None)).limit(1)
    )
    if existing is not None:
        return None
    configured = get_auth_settings().admin_key
    generated: str | None = None
    if configured:
        prefix, key_hash = configured[:12], hash_secret(configured)
    else:
        issued = issue_api_key()
        prefix, key_hash, generated = issued.prefix, issued.hash, issued.secret
    session.add(ApiKey(name="bootstrap-admin", role="admin", prefix=prefix, key_hash=key_hash))
    await session.flush()
    if generated is None:
        return None
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(generated + "\n")
    os.chmod(key_file, 0o600)
    return generated


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
