"""Alembic environment: async engine, our metadata, and heartbeat partitions left to the retention job."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from shared.db import make_engine
from shared.models import HEARTBEAT_PARTITION_PREFIX, Base

config = context.config
target_metadata = Base.metadata


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Daily heartbeat partitions are runtime objects, not schema drift."""
    is_partition = name is not None and (name.startswith(HEARTBEAT_PARTITION_PREFIX) or name == "heartbeat_default")
    return not (type_ == "table" and is_partition)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
        compare_server_default=False,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url") or None
    engine = make_engine(
        url,
        application_name="citycam-migrate",
        direct=True,
        poolclass=None,
        pool_size=1,
        max_overflow=0,
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `citycam migrate` against a database")

connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
