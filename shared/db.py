"""Engine, sessions and the readiness check; engines are made in each app's lifespan."""

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import DatabaseSettings, get_database_settings

EMBEDDED_DATABASE = "citycam"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def async_url(raw: str) -> str:
    """Any postgres URL spelling, as the asyncpg SQLAlchemy URL."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if raw.startswith(prefix):
            return "postgresql+asyncpg://" + raw[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def plain_url(raw: str) -> str:
    """The libpq/asyncpg form of a URL (no SQLAlchemy driver suffix)."""
    return "postgresql://" + async_url(raw)[len("postgresql+asyncpg://") :]


def database_url(settings: DatabaseSettings | None = None) -> str:
    """DATABASE_URL when set, else the embedded server's citycam database."""
    settings = settings or get_database_settings()
    if settings.url:
        return async_url(settings.url)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{settings.embedded_port}/{EMBEDDED_DATABASE}"


def direct_database_url(fallback: str | None = None, settings: DatabaseSettings | None = None) -> str:
    """CITYCAM_DB_DIRECT_URL when set, else `fallback` (else DATABASE_URL): for LISTEN and session locks."""
    settings = settings or get_database_settings()
    if settings.direct_url:
        return async_url(settings.direct_url)
    return async_url(fallback) if fallback else database_url(settings)


def asyncpg_options(*, direct: bool, settings: DatabaseSettings | None = None) -> dict[str, Any]:
    """Keyword arguments for asyncpg.connect: without prepared-statement support in the pooler, a pooled
    connection must not cache named statements (the next transaction may run on another server)."""
    settings = settings or get_database_settings()
    if direct or settings.prepared_statements:
        return {}
    return {"statement_cache_size": 0}


def _unique_statement_name() -> str:
    # asyncpg numbers statements per client connection; behind a pooler two clients share a server
    # connection, so the numbered names would collide there.
    return f"__citycam_{uuid.uuid4().hex}__"


def valid_database_name(name: str) -> str:
    """A database name safe to interpolate in CREATE/DROP DATABASE."""
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid database name {name!r}")
    return name


def connect_args(
    *, application_name: str, direct: bool = False, settings: DatabaseSettings | None = None
) -> dict[str, Any]:
    """The asyncpg connect arguments of an engine: its name, the statement timeout, statement handling."""
    settings = settings or get_database_settings()
    server_settings = {"application_name": application_name}
    if settings.statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.statement_timeout_ms)
    args: dict[str, Any] = {
        "server_settings": server_settings,
        "timeout": settings.connect_timeout_s,
        **asyncpg_options(direct=direct, settings=settings),
    }
    if not direct and not settings.prepared_statements:
        # SQLAlchemy prepares every statement itself inside its transaction: uncached and uniquely
        # named, it never meets a statement of another client on a shared server connection.
        args["prepared_statement_cache_size"] = 0
        args["prepared_statement_name_func"] = _unique_statement_name
    return args


def make_engine(
    url: str | None = None, *, application_name: str = "citycam", direct: bool = False, **overrides: Any
) -> AsyncEngine:
    """An asyncpg engine with bounded pool waits and a statement timeout, so overload becomes a 503;
    `direct` for one that bypasses the pooler (its default URL is then CITYCAM_DB_DIRECT_URL)."""
    settings = get_database_settings()
    kwargs: dict[str, Any] = {
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.pool_timeout_s,
        "pool_pre_ping": True,
        "connect_args": connect_args(application_name=application_name, direct=direct, settings=settings),
    }
    kwargs.update(overrides)
    default = direct_database_url(settings=settings) if direct else database_url(settings)
    return create_async_engine(async_url(url) if url else default, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the endpoint returns, roll back when it raises."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": the commit runs when the endpoint returns, before the response is sent,
# so a 2xx always means committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The alembic revision the database is at, or None when it was never migrated."""
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL"))
        if not exists:
            return None
        return await conn.scalar(text("SELECT version_num FROM alembic_version LIMIT 1"))
