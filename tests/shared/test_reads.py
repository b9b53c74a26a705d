"""Health reads on a standby, bound by its replay lag (a real server stands in for the standby)."""

import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import make_engine, make_sessionmaker
from shared.reads import ReadRouting, get_read_session
from tests.helpers import free_port


@pytest.fixture
async def primary(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _routing(
    primary: async_sessionmaker[AsyncSession], standby: AsyncEngine | None, *, max_lag_s: float = 5.0
) -> ReadRouting:
    # check_every_s is long: each test sees exactly the first measurement.
    return ReadRouting(primary, standby, max_lag_s=max_lag_s, check_every_s=3600.0)


async def test_without_a_read_url_reads_go_to_the_primary(primary) -> None:
    assert await _routing(primary, None).sessionmaker() is primary


async def test_a_standby_within_the_bound_takes_the_reads(primary, database_url: str) -> None:
    # A server that is not in recovery reports lag 0, as a caught-up standby does.
    routing = _routing(primary, make_engine(database_url, direct=True, pool_size=1, max_overflow=0))
    try:
        chosen = await routing.sessionmaker()
        assert chosen is routing.standby_sessions and routing.lag_s == 0.0
    finally:
        await routing.close()


async def test_a_standby_beyond_the_bound_sends_reads_to_the_primary(primary, database_url: str) -> None:
    standby = make_engine(database_url, direct=True, pool_size=1, max_overflow=0)
    routing = _routing(primary, standby, max_lag_s=-1.0)
    try:
        assert await routing.sessionmaker() is primary
    finally:
        await routing.close()


async def test_an_unreachable_standby_sends_reads_to_the_primary(primary) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/citycam"
    routing = _routing(primary, make_engine(url, direct=True, pool_size=1, max_overflow=0, connect_args={"timeout": 1}))
    try:
        assert await routing.sessionmaker() is primary and routing.lag_s is None
    finally:
        await routing.close()


async def test_the_lag_is_measured_once_per_interval(primary, database_url: str) -> None:
    routing = _routing(primary, make_engine(database_url, direct=True, pool_size=1, max_overflow=0))
    try:
        first = await routing.sessionmaker()
        # Were it measured again, the failing standby would send this read to the primary.
        routing.max_lag_s = -1.0
        assert await routing.sessionmaker() is first is routing.standby_sessions
    finally:
        await routing.close()


async def test_a_read_falls_back_to_the_primary_when_the_standby_died_since_its_check(primary) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/citycam"
    routing = _routing(primary, make_engine(url, direct=True, pool_size=1, max_overflow=0, connect_args={"timeout": 1}))
    routing.on_standby, routing._checked_at = True, time.monotonic()  # as if it answered a moment ago
    own = primary()
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(reads=routing)))
    try:
        reads = get_read_session(request, own)  # type: ignore[arg-type]
        assert await anext(reads) is own and not routing.on_standby
        await reads.aclose()
    finally:
        await own.close()
        await routing.close()
