"""Every hostile body gets a clear 4xx problem and stores nothing; the rate limit answers 429."""

import math

import asyncpg
import pytest

from tests.helpers import PROBLEM_JSON
from tests.ingest.conftest import add_camera, bearer

BAD_BODIES = [
    (b'{"firmware": "a\\u0000b"}', 422),
    (b'{"firmware": "a\x00b"}', 422),
    (b'{"fps": NaN}', 422),
    (b'{"fps": Infinity}', 422),
    (b'{"fps": -Infinity}', 422),
    (b'{"fps": 1e999}', 422),
    (b'{"uptime_s": 123456789012345678901234567890}', 422),
    (b'{"uptime_s": ' + b"9" * 5000 + b"}", 422),
    (b'{"uptime_s": -1}', 422),
    (b'{"uptime_s": 1.5}', 422),
    (b'{"fps": "25"}', 422),
    (b'{"fps": true}', 422),
    (b'{"packet_loss_pct": 100.1}', 422),
    (b'{"temperature_c": 1000}', 422),
    (b'{"colour": "red"}', 422),
    (b'{"sent_at": "yesterday"}', 422),
    (b'{"sent_at": "2026-11-26T12:00:00"}', 422),
    (b'{"sent_at": "2026-02-30T12:00:00Z"}', 422),
    (b'{"sent_at": 1764158400}', 422),
    (b'{"errors": "E1"}', 422),
    (b'{"errors": ["has space"]}', 422),
    (b'{"errors": [' + b'"E",' * 40 + b'"E"]}', 422),
    (b'{"firmware": "' + b"x" * 101 + b'"}', 422),
    (b"[]", 422),
    (b'"hello"', 422),
    (b"{", 422),
    (b"[" * 5000 + b"]" * 5000, 422),
    (b'{"firmware": "\xff\xfe"}', 400),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES, ids=[f"case{i}" for i in range(len(BAD_BODIES))])
async def test_bad_bodies_get_a_problem_and_store_nothing(live, db: asyncpg.Connection, body, status) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post("/v1/heartbeats", content=body, headers=bearer(cam.token))
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", cam.id) == 0


async def test_validation_errors_name_the_field(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post("/v1/heartbeats", json={"fps": -3}, headers=bearer(cam.token))
    assert response.json()["errors"][0]["loc"] == ["fps"]


async def test_a_body_over_16_kib_gets_413(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    body = b'{"firmware": "' + b"x" * (17 * 1024) + b'"}'
    response = await client.post("/v1/heartbeats", content=body, headers=bearer(cam.token))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_body_that_is_not_json_gets_415(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post(
        "/v1/heartbeats", content=b"fps=3", headers={**bearer(cam.token), "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_the_sixth_heartbeat_at_once_gets_429_with_retry_after(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    statuses = [(await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))) for _ in range(7)]
    assert [r.status_code for r in statuses] == [202] * 5 + [429] * 2
    assert int(statuses[5].headers["retry-after"]) >= 1
    assert statuses[5].headers["content-type"] == PROBLEM_JSON
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", cam.id) == 5


async def test_the_rate_limit_is_per_camera(live, db: asyncpg.Connection) -> None:
    _, client = live
    noisy, quiet = await add_camera(db), await add_camera(db)
    for _ in range(6):
        await client.post("/v1/heartbeats", json={}, headers=bearer(noisy.token))
    response = await client.post("/v1/heartbeats", json={}, headers=bearer(quiet.token))
    assert response.status_code == 202


async def test_the_bucket_refills_at_the_sustained_rate(live_app, db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    async with live_app(rate_per_s=1.0, rate_burst=1.0) as (_app, client):
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))).status_code == 202
        refused = await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))
        assert refused.status_code == 429
        import asyncio

        await asyncio.sleep(1.05)
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))).status_code == 202


def test_the_limiter_tells_how_long_to_wait() -> None:
    import uuid

    from services.ingest.rate_limit import RateLimiter

    limiter = RateLimiter(rate=0.5, burst=2)
    key = uuid.uuid4()
    assert limiter.take(key, 100.0) == 0
    assert limiter.take(key, 100.0) == 0
    assert math.isclose(limiter.take(key, 100.0), 2.0)
    assert limiter.take(key, 102.0) == 0
