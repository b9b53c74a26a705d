"""Run alembic programmatically, so `citycam migrate`, the tests and the services agree on one config."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from shared.db import direct_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An alembic Config pointing at shared/migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # DDL and alembic's version row go to the primary directly, never through a pooler.
    cfg.attributes["database_url"] = url or direct_database_url()
    return cfg


def head_revision() -> str | None:
    """The newest revision in the chain."""
    return ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused/unused")).get_current_head()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database up to revision (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the database down to revision."""
    command.downgrade(alembic_config(url), revision)


def check(url: str | None = None) -> None:
    """Raise when the models and the migrated database differ."""
    command.check(alembic_config(url))


async def upgrade_async(url: str | None = None) -> None:
    """upgrade() from inside a running event loop."""
    await asyncio.to_thread(upgrade, url)
