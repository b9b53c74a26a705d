"""POST /v1/heartbeats/batch: per-item results in order, partial rejects, the gateway's own liveness."""

import json

import asyncpg

from tests.helpers import PROBLEM_JSON
from tests.ingest.conftest import add_camera, add_gateway, bearer


async def test_items_are_judged_one_by_one_and_the_rest_stored(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    by_code = await add_camera(db, gateway_id=gw.id)
    by_id = await add_camera(db, gateway_id=gw.id)
    retired = await add_camera(db, gateway_id=gw.id, lifecycle="decommissioned")
    elsewhere = await add_camera(db)
    body = {
        "sent_at": "2026-11-26T12:00:00Z",
        "heartbeats": [
            {"camera": by_code.code, "fps": 25},
            {"camera": elsewhere.code, "fps": 25},
            {"camera": by_id.code, "fps": -4},
            {"camera": str(by_id.id).upper(), "temperature_c": 40},
            {"camera": retired.code},
            {"camera": "NO-SUCH-CAMERA"},
            {"camera": by_code.code, "colour": "red"},
            {"fps": 3},
        ],
    }
    response = await client.post("/v1/heartbeats/batch", json=body, headers=bearer(gw.token))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 403, 422, 202, 403, 403, 422, 422]
    assert [r["camera"] for r in results[:7]] == [i["camera"] for i in body["heartbeats"][:7]]
    assert "fps" in results[2]["detail"]
    stored = await db.fetch(
        "SELECT camera_id, gateway_id, fps, temperature_c FROM heartbeat WHERE camera_id = ANY($1::uuid[])",
        [by_code.id, by_id.id, retired.id, elsewhere.id],
    )
    assert sorted((r["camera_id"], r["fps"], r["temperature_c"]) for r in stored) == sorted(
        [(by_code.id, 25.0, None), (by_id.id, None, 40.0)]
    )
    assert {r["gateway_id"] for r in stored} == {gw.id}
    state = await db.fetchrow("SELECT * FROM gateway_state WHERE gateway_id = $1", gw.id)
    assert state["cameras_reported"] == 2


async def test_an_empty_batch_keeps_the_gateway_alive_and_no_camera(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    cam = await add_camera(db, gateway_id=gw.id)
    response = await client.post("/v1/heartbeats/batch", json={"heartbeats": []}, headers=bearer(gw.token))
    assert response.status_code == 200 and response.json() == {"results": []}
    state = await db.fetchrow("SELECT * FROM gateway_state WHERE gateway_id = $1", gw.id)
    assert state is not None and state["cameras_reported"] == 0
    assert await db.fetchval("SELECT count(*) FROM camera_state WHERE camera_id = $1", cam.id) == 0


async def test_a_batch_rate_limits_each_camera(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    cam = await add_camera(db, gateway_id=gw.id)
    body = {"heartbeats": [{"camera": cam.code}] * 7}
    results = (await client.post("/v1/heartbeats/batch", json=body, headers=bearer(gw.token))).json()["results"]
    assert [r["status"] for r in results] == [202] * 5 + [429] * 2
    assert await db.fetchval("SELECT heartbeat_count FROM camera_state WHERE camera_id = $1", cam.id) == 5


async def test_a_live_gateway_does_not_keep_its_cameras_alive(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    silent = await add_camera(db, gateway_id=gw.id)
    response = await client.post(
        "/v1/heartbeats/batch", json={"heartbeats": [{"camera": "NOT-HERE"}]}, headers=bearer(gw.token)
    )
    assert response.status_code == 200
    assert await db.fetchval("SELECT cameras_reported FROM gateway_state WHERE gateway_id = $1", gw.id) == 0
    assert await db.fetchval("SELECT count(*) FROM camera_state WHERE camera_id = $1", silent.id) == 0


async def test_a_camera_token_cannot_send_a_batch(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post(
        "/v1/heartbeats/batch", json={"heartbeats": [{"camera": cam.code}]}, headers=bearer(cam.token)
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_decommissioned_gateway_gets_403(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db, lifecycle="decommissioned")
    response = await client.post(
        "/v1/heartbeats/batch", json={"heartbeats": [{"camera": "X"}]}, headers=bearer(gw.token)
    )
    assert response.status_code == 403


async def test_more_than_1000_items_is_422_and_nothing_is_stored(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    cam = await add_camera(db, gateway_id=gw.id)
    body = {"heartbeats": [{"camera": cam.code}] * 1001}
    response = await client.post("/v1/heartbeats/batch", json=body, headers=bearer(gw.token))
    assert response.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM gateway_state WHERE gateway_id = $1", gw.id) == 0


async def test_a_full_batch_of_1000_cameras_is_stored(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    rows = [(f"B-{gw.id.hex[:8]}-{i:04d}",) for i in range(1000)]
    await db.executemany(
        "INSERT INTO camera (id, code, name, latitude, longitude, district, gateway_id)"
        " VALUES (gen_random_uuid(), $1, 'x', 10.8, 106.7, 'BTH', $2)",
        [(code, gw.id) for (code,) in rows],
    )
    body = {"heartbeats": [{"camera": code, "fps": 20, "errors": []} for (code,) in rows]}
    response = await client.post("/v1/heartbeats/batch", json=body, headers=bearer(gw.token))
    assert {r["status"] for r in response.json()["results"]} == {202}
    count = await db.fetchval(
        "SELECT count(*) FROM camera_state s JOIN camera c ON c.id = s.camera_id WHERE c.gateway_id = $1", gw.id
    )
    assert count == 1000


async def test_batch_envelope_errors_and_limits(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    for body, status in (
        (b"{}", 422),
        (b'{"heartbeats": {}}', 422),
        (b'{"heartbeats": [], "extra": 1}', 422),
        (b'{"heartbeats": [{"camera": "x"}], "sent_at": "noon"}', 422),
        (json.dumps({"heartbeats": [{"camera": "x", "firmware": "y" * 100}] * 12000}).encode(), 413),
    ):
        response = await client.post("/v1/heartbeats/batch", content=body, headers=bearer(gw.token))
        assert response.status_code == status, body[:60]
        assert response.headers["content-type"] == PROBLEM_JSON
