"""bench.load: the one fleet loader, its shapes and its replacing load."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench.load import BENCH_SHAPE, FleetShape, load
from shared.db import plain_url
from tests.conftest import scratch_database

CAMERAS = 2000


@pytest.fixture(scope="module")
async def dsn() -> AsyncIterator[str]:
    async with scratch_database("load") as url:
        yield plain_url(url)


async def _fetchval(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_the_bench_shape_puts_shares_of_the_fleet_offline_degraded_and_behind_gateways(dsn: str) -> None:
    data = await load(dsn, CAMERAS, replace=True)
    assert (data.offline, data.degraded, data.maintenance) == (200, 100, 0)
    assert sum(len(codes) for _, codes in data.gateways) == round(CAMERAS * BENCH_SHAPE.behind_gateways)
    silent_a_day = "SELECT count(*) FROM camera_state WHERE received_at < now() - interval '23 hours'"
    assert await _fetchval(dsn, silent_a_day) == 200


async def test_online_tokens_are_those_of_the_direct_online_cameras(dsn: str) -> None:
    data = await load(dsn, CAMERAS, shape=FleetShape(maintenance=0.01), replace=True)
    assert len(data.online_tokens) == CAMERAS - 600 - 200 - 100 - 20
    assert await _fetchval(dsn, "SELECT count(*) FROM camera WHERE lifecycle = 'maintenance'") == 20


async def test_every_camera_has_a_last_heartbeat_and_a_device_token(dsn: str) -> None:
    await load(dsn, CAMERAS, replace=True)
    assert await _fetchval(dsn, "SELECT count(*) FROM camera_state") == CAMERAS
    assert await _fetchval(dsn, "SELECT count(*) FROM device_credential WHERE camera_id IS NOT NULL") == CAMERAS


async def test_a_shape_sets_the_interval_and_who_sits_behind_gateways(dsn: str) -> None:
    data = await load(dsn, CAMERAS, shape=FleetShape(interval_s=300, behind_gateways=0.0), replace=True)
    assert data.gateways == []
    assert await _fetchval(dsn, "SELECT count(*) FROM camera WHERE heartbeat_interval_s = 300") == CAMERAS


async def test_a_replacing_load_empties_the_fleet_first(dsn: str) -> None:
    await load(dsn, CAMERAS, replace=True)
    await load(dsn, CAMERAS // 2, replace=True)
    assert await _fetchval(dsn, "SELECT count(*) FROM camera") == CAMERAS // 2


async def test_a_second_load_without_replace_is_refused_whole(dsn: str) -> None:
    await load(dsn, CAMERAS, replace=True)
    with pytest.raises(asyncpg.UniqueViolationError):
        await load(dsn, CAMERAS)
    assert await _fetchval(dsn, "SELECT count(*) FROM camera") == CAMERAS
