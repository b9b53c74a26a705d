"""Values a parser accepts but Postgres cannot store (issue 12 item 3): a 422 to the sender before
the heartbeat is queued, never a 503 to the fleet, and the writer stays healthy."""

import asyncpg
import pytest

from services.ingest.errors import Unstorable
from tests.helpers import PROBLEM_JSON
from tests.ingest.conftest import add_camera, add_gateway, bearer

# Each parses as an RFC 3339 time with an offset, and leaves years 1-9999 once converted to UTC.
UNSTORABLE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:30:00-05:00"]


@pytest.mark.parametrize("sent_at", UNSTORABLE_TIMES)
async def test_an_unstorable_sent_at_is_422_and_the_writer_stays_healthy(live, db: asyncpg.Connection, sent_at) -> None:
    app, client = live
    cam = await add_camera(db)
    other = await add_camera(db)
    response = await client.post("/v1/heartbeats", json={"sent_at": sent_at}, headers=bearer(cam.token))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "sent_at" in response.json()["detail"]
    assert app.state.ingest.writer.healthy
    assert (await client.post("/v1/heartbeats", json={}, headers=bearer(other.token))).status_code == 202
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", cam.id) == 0


async def test_a_bigint_overflow_is_422(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post(
        "/v1/heartbeats", content=b'{"uptime_s": 9223372036854775808}', headers=bearer(cam.token)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["uptime_s"]


async def test_a_batch_item_with_an_unstorable_sent_at_alone_is_refused(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    good = await add_camera(db, gateway_id=gw.id)
    bad = await add_camera(db, gateway_id=gw.id)
    body = {"heartbeats": [{"camera": good.code, "fps": 25}, {"camera": bad.code, "sent_at": UNSTORABLE_TIMES[0]}]}
    response = await client.post("/v1/heartbeats/batch", json=body, headers=bearer(gw.token))
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [202, 422]
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", good.id) == 1
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", bad.id) == 0


async def test_a_batch_whose_own_sent_at_is_unstorable_is_422(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    cam = await add_camera(db, gateway_id=gw.id)
    body = {"sent_at": UNSTORABLE_TIMES[1], "heartbeats": [{"camera": cam.code}]}
    response = await client.post("/v1/heartbeats/batch", json=body, headers=bearer(gw.token))
    assert response.status_code == 422
    assert "sent_at" in response.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", cam.id) == 0


async def test_a_heartbeat_the_database_refuses_keeps_its_rate_limit_token(
    live_app, db: asyncpg.Connection, monkeypatch
) -> None:
    cam = await add_camera(db)
    async with live_app(rate_per_s=0.01, rate_burst=1.0) as (app, client):
        runtime = app.state.ingest

        async def refuse(*_args: object) -> None:
            raise Unstorable()

        # Past validation only a database data error can refuse a value: stand in for it.
        monkeypatch.setattr(runtime, "store", refuse)
        refused = await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))
        assert refused.status_code == 422
        monkeypatch.undo()
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))).status_code == 429
