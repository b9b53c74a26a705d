"""One database per run, migrated once; every test runs inside a transaction that is rolled back.

TEST_DATABASE_URL names a Postgres server to use (its database part is replaced by ours); without
it the embedded server under .data/ is started. CITYCAM_TEST_DB_NAME picks the database name, so
several checkouts can share one server.
"""

import asyncio
import atexit
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from citycam import embedded
from shared import migrate
from shared.db import get_session, make_engine, plain_url, valid_database_name
from shared.models import ApiKey
from shared.settings import get_database_settings
from shared.tokens import issue_api_key
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent


def _server_url() -> str:
    """A URL of the Postgres server the tests use (any database on it)."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return plain_url(explicit)
    settings = get_database_settings()
    if not embedded.status(settings.data_dir, settings.embedded_port).running:
        embedded.start(settings.data_dir, settings.embedded_port)
        # Stopped when the run ends: left running, it would hold the port (54329 by default) that the
        # next `make run` of any other clone needs. A server that was already running stays.
        atexit.register(embedded.stop, settings.data_dir, settings.embedded_port)
    return f"postgresql://postgres@127.0.0.1:{settings.embedded_port}/postgres"


def database_url_for(name: str) -> str:
    """The asyncpg SQLAlchemy URL of database `name` on the test server."""
    url = make_url(SERVER_URL.replace("postgresql://", "postgresql+asyncpg://", 1)).set(database=name)
    return url.render_as_string(hide_password=False)


async def _on_server(statement: str) -> None:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    """Drop database `name` on the test server if it exists, closing its connections."""
    await _on_server(f'DROP DATABASE IF EXISTS "{valid_database_name(name)}" WITH (FORCE)')


@asynccontextmanager
async def scratch_database(suffix: str | None = None, *, migrated: bool = True) -> AsyncIterator[str]:
    """A database of its own for the block (TEST_DB_NAME, or TEST_DB_NAME_suffix): created afresh,
    migrated to the head unless `migrated` is false, dropped when the block ends. Yields its URL."""
    name = valid_database_name(TEST_DB_NAME if suffix is None else f"{TEST_DB_NAME}_{suffix}")
    await drop_database(name)
    await _on_server(f'CREATE DATABASE "{name}"')
    url = database_url_for(name)
    try:
        if migrated:
            await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        await drop_database(name)


@dataclass
class UpStack:
    """`citycam up` running: its process and each service's base URL."""

    process: subprocess.Popen[bytes]
    urls: dict[str, str]


@contextmanager
def citycam_up(
    database_url: str, tmp: pytest.TempPathFactory, *, admin_key: str, **extra_env: str
) -> Iterator[UpStack]:
    """`citycam up` on free ports against database_url, yielded once every service answers /readyz (the
    test fails with the end of its log otherwise); stopped with SIGTERM when the block ends."""
    ports = {name: free_port() for name in ("registry", "ingest", "health")}
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        CITYCAM_ADMIN_KEY=admin_key,
        CITYCAM_DB_DATA_DIR=str(tmp.mktemp("data")),
        **{f"CITYCAM_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **extra_env,
    )
    log = tmp.mktemp("logs") / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "citycam.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        deadline = time.monotonic() + 90
        pending = set(urls)
        while pending and time.monotonic() < deadline and process.poll() is None:
            for name in list(pending):
                try:
                    if httpx.get(urls[name] + "/readyz", timeout=1).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if pending:
            process.kill()
            pytest.fail(f"services not ready: {sorted(pending)}\n{log.read_text()[-3000:]}")
        yield UpStack(process, urls)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--chaos", action="store_true", default=False, help="also run tests/chaos (make chaos)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The chaos suite (marked chaos) runs with --chaos only: it takes minutes and kills real processes."""
    if config.getoption("--chaos"):
        return
    chaos = [item for item in items if item.get_closest_marker("chaos")]
    if chaos:
        config.hook.pytest_deselected(items=chaos)
        items[:] = [item for item in items if not item.get_closest_marker("chaos")]


SERVER_URL = _server_url()
TEST_DB_NAME = valid_database_name(os.environ.get("CITYCAM_TEST_DB_NAME", "citycam_test"))


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """The test database, created fresh and migrated to the head once per run."""
    async with scratch_database() as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, application_name="citycam-tests")
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test's connection: their commits release savepoints, never the outer transaction."""
    return async_sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


def bind_app(app: FastAPI, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Point an app (without running its lifespan) at the test transaction."""

    async def override_session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as s:
            try:
                yield s
            except BaseException:
                await s.rollback()
                raise
            else:
                await s.commit()

    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.head_revision = migrate.head_revision()
    app.dependency_overrides[get_session] = override_session


@pytest.fixture
def client_for(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> Iterator[Callable[[FastAPI], httpx.AsyncClient]]:
    """An httpx client over ASGITransport for a service app bound to the test transaction."""
    apps: list[FastAPI] = []

    def make(app: FastAPI) -> httpx.AsyncClient:
        bind_app(app, engine, sessionmaker)
        apps.append(app)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    yield make
    for app in apps:
        app.dependency_overrides.clear()


@pytest.fixture
def make_key(session: AsyncSession) -> Callable[..., Awaitable[str]]:
    """Create an API key in the test transaction and return its secret."""

    async def make(role: str, districts: list[str] | None = None, *, revoked: bool = False) -> str:
        issued = issue_api_key()
        key = ApiKey(
            name=f"test-{role}-{uuid.uuid4().hex[:6]}",
            role=role,
            districts=districts,
            prefix=issued.prefix,
            key_hash=issued.hash,
        )
        if revoked:
            key.revoked_at = datetime.now(UTC)
        session.add(key)
        await session.commit()
        return issued.secret

    return make


@pytest.fixture
async def registry(client_for: Callable[[FastAPI], httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    """The registry app over ASGITransport, inside the test transaction."""
    from services.registry.main import app

    async with client_for(app) as client:
        yield client


@pytest.fixture
async def ingest(client_for: Callable[[FastAPI], httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    """The ingest app over ASGITransport, inside the test transaction."""
    from services.ingest.main import app

    async with client_for(app) as client:
        yield client


@pytest.fixture
async def health(client_for: Callable[[FastAPI], httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    """The health app over ASGITransport, inside the test transaction."""
    from services.health.main import app

    async with client_for(app) as client:
        yield client
