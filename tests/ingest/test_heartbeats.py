"""POST /v1/heartbeats on the running service: committed before 202, monotonic state, auth."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from services.ingest.service import heartbeat_row, upsert_heartbeats
from tests.helpers import PROBLEM_JSON
from tests.ingest.conftest import add_camera, add_gateway, bearer

FULL = {
    "sent_at": "2026-11-26T19:00:00+07:00",
    "uptime_s": 86400,
    "fps": 25.0,
    "bitrate_kbps": 4096.5,
    "packet_loss_pct": 0.2,
    "temperature_c": 48.5,
    "storage_free_pct": 61.0,
    "firmware": "V5.7.3 build 230101",
    "errors": ["NO_SD", "IR_FAIL"],
}


async def test_a_202_means_the_heartbeat_is_committed(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post("/v1/heartbeats", json=FULL, headers=bearer(cam.token))
    assert response.status_code == 202
    received_at = datetime.fromisoformat(response.json()["received_at"])
    state = await db.fetchrow("SELECT * FROM camera_state WHERE camera_id = $1", cam.id)
    assert state is not None
    assert state["received_at"] == received_at
    assert state["fps"] == 25.0
    assert state["errors"] == ["NO_SD", "IR_FAIL"]
    assert state["sent_at"] == datetime(2026, 11, 26, 12, tzinfo=UTC)
    history = await db.fetch("SELECT received_at FROM heartbeat WHERE camera_id = $1", cam.id)
    assert [r["received_at"] for r in history] == [received_at]


async def test_an_empty_body_is_a_bare_liveness_signal(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    response = await client.post("/v1/heartbeats", content=b"", headers={"Authorization": f"Bearer {cam.token}"})
    assert response.status_code == 202
    assert await db.fetchval("SELECT heartbeat_count FROM camera_state WHERE camera_id = $1", cam.id) == 1


async def test_the_response_echoes_or_makes_a_request_id(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    given = await client.post("/v1/heartbeats", json={}, headers={**bearer(cam.token), "X-Request-ID": "abc-123"})
    made = await client.post("/v1/heartbeats", json={}, headers={**bearer("nope")})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    assert made.status_code == 401
    assert made.headers["content-type"] == PROBLEM_JSON


async def test_concurrent_heartbeats_share_commits_and_all_land(live_app, db: asyncpg.Connection) -> None:
    cams = [await add_camera(db) for _ in range(40)]
    async with live_app() as (_app, client):
        responses = await asyncio.gather(
            *(client.post("/v1/heartbeats", json={"fps": 10}, headers=bearer(c.token)) for c in cams for _ in range(3))
        )
    assert {r.status_code for r in responses} == {202}
    count = await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = ANY($1::uuid[])", [c.id for c in cams])
    assert count == 120
    counts = await db.fetch(
        "SELECT heartbeat_count FROM camera_state WHERE camera_id = ANY($1::uuid[])", [c.id for c in cams]
    )
    assert sorted(r["heartbeat_count"] for r in counts) == [3] * 40


async def test_an_older_heartbeat_never_overwrites_a_newer_one(db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    now = datetime.now(UTC)
    newer = heartbeat_row(cam.id, now, fps=30.0)
    older = heartbeat_row(cam.id, now - timedelta(seconds=5), fps=1.0)
    await upsert_heartbeats(db, [newer])
    await upsert_heartbeats(db, [older])
    state = await db.fetchrow("SELECT received_at, fps, heartbeat_count FROM camera_state WHERE camera_id = $1", cam.id)
    assert (state["received_at"], state["fps"], state["heartbeat_count"]) == (now, 30.0, 2)


async def test_reordered_rows_in_one_flush_keep_the_newest(db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    now = datetime.now(UTC)
    rows = [heartbeat_row(cam.id, now - timedelta(seconds=s), fps=float(s)) for s in (3, 0, 7, 1)]
    await upsert_heartbeats(db, rows)
    state = await db.fetchrow("SELECT received_at, fps, heartbeat_count FROM camera_state WHERE camera_id = $1", cam.id)
    assert (state["received_at"], state["fps"], state["heartbeat_count"]) == (now, 0.0, 4)


async def test_a_duplicate_heartbeat_is_harmless(db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    row = heartbeat_row(cam.id, datetime.now(UTC), fps=5.0)
    await upsert_heartbeats(db, [row, row])
    await upsert_heartbeats(db, [row])
    assert await db.fetchval("SELECT count(*) FROM heartbeat WHERE camera_id = $1", cam.id) == 1
    assert await db.fetchval("SELECT fps FROM camera_state WHERE camera_id = $1", cam.id) == 5.0


async def test_concurrent_upserts_on_overlapping_cameras_do_not_deadlock(live_url, db: asyncpg.Connection) -> None:
    cams = [await add_camera(db) for _ in range(30)]
    conns = [await asyncpg.connect(live_url.replace("+asyncpg", "")) for _ in range(4)]
    try:
        now = datetime.now(UTC)

        async def flush(conn: asyncpg.Connection, offset: int) -> None:
            for i in range(10):
                order = cams[offset:] + cams[:offset]
                rows = [heartbeat_row(c.id, now + timedelta(microseconds=i * 10 + offset)) for c in order]
                await upsert_heartbeats(conn, rows)

        await asyncio.gather(*(flush(conn, k * 7) for k, conn in enumerate(conns)))
    finally:
        for conn in conns:
            await conn.close()
    assert (
        await db.fetchval(
            "SELECT sum(heartbeat_count) FROM camera_state WHERE camera_id = ANY($1::uuid[])", [c.id for c in cams]
        )
        == 30 * 40
    )


async def test_unknown_missing_and_malformed_tokens_get_401(live, db: asyncpg.Connection) -> None:
    _, client = live
    for headers in ({}, {"Authorization": "Bearer cct_nope"}, {"Authorization": "Basic abc"}):
        response = await client.post("/v1/heartbeats", json={}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_decommissioned_camera_gets_403(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db, lifecycle="decommissioned")
    response = await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))
    assert response.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM camera_state WHERE camera_id = $1", cam.id) == 0


async def test_a_gateway_token_cannot_send_a_single_heartbeat(live, db: asyncpg.Connection) -> None:
    _, client = live
    gw = await add_gateway(db)
    response = await client.post("/v1/heartbeats", json={}, headers=bearer(gw.token))
    assert response.status_code == 403


async def test_the_session_path_stores_in_the_request_transaction(ingest, session) -> None:
    # The `ingest` fixture's app has no runtime: the declared route serves on the test transaction.
    from sqlalchemy import text

    from shared.tokens import issue_device_token

    token = issue_device_token()
    camera_id = (
        await session.execute(
            text(
                "INSERT INTO camera (id, code, name, latitude, longitude, district)"
                " VALUES (gen_random_uuid(), 'SESS-1', 'x', 10.8, 106.7, 'Q1') RETURNING id"
            )
        )
    ).scalar_one()
    await session.execute(
        text(
            "INSERT INTO device_credential (id, token_hash, prefix, camera_id) VALUES (gen_random_uuid(), :h, :p, :c)"
        ),
        {"h": token.hash, "p": token.prefix, "c": camera_id},
    )
    await session.commit()
    response = await ingest.post("/v1/heartbeats", json={"fps": 12.5}, headers=bearer(token.secret))
    assert response.status_code == 202
    fps = (await session.execute(text("SELECT fps FROM camera_state WHERE camera_id = :c"), {"c": camera_id})).scalar()
    assert fps == 12.5
    bad = await ingest.post("/v1/heartbeats", json={"fps": -1}, headers=bearer(token.secret))
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM_JSON


async def test_the_session_path_holds_a_single_heartbeat_to_16_kib(ingest) -> None:
    # Without a runtime the shared input guard applies the body limits (main.py path_limits).
    body = b'{"firmware": "' + b"x" * (17 * 1024) + b'"}'
    response = await ingest.post("/v1/heartbeats", content=body, headers=bearer("t" * 40))
    assert response.status_code == 413
    assert response.json()["detail"] == "the body is larger than 16384 bytes"


async def test_a_503_says_retry_after_as_configured(live_app, db: asyncpg.Connection, monkeypatch) -> None:
    from services.ingest.errors import Unavailable

    cam = await add_camera(db)
    async with live_app(retry_after_s=7) as (app, client):

        async def unavailable(*_args: object) -> None:
            raise Unavailable("the database is unavailable")

        monkeypatch.setattr(app.state.ingest, "store", unavailable)
        response = await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
