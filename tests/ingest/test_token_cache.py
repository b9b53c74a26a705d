"""The token cache: rotated, revoked and decommissioned devices are refused within 1 s of the
registry's NOTIFY; a dropped LISTEN connection empties the cache."""

import asyncio
import json
import time

import asyncpg

from shared.notify import DEVICE_CHANGED
from shared.tokens import issue_device_token
from tests.ingest.conftest import add_camera, add_gateway, bearer


async def _refused_within(client, token: str, timeout: float, path: str = "/v1/heartbeats", body=None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        response = await client.post(path, json=body or {}, headers=bearer(token))
        if response.status_code in (401, 403):
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"still accepted after {timeout} s")


async def test_a_rotated_token_is_refused_within_a_second(live_app, db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    async with live_app(rate_per_s=1000.0, rate_burst=1000.0) as (app, client):
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))).status_code == 202
        assert app.state.ingest.cache.get(__import__("hashlib").sha256(cam.token.encode()).hexdigest()) is not None
        new = issue_device_token()
        async with db.transaction():
            await db.execute("UPDATE device_credential SET revoked_at = now() WHERE camera_id = $1", cam.id)
            await db.execute(
                "INSERT INTO device_credential (id, token_hash, prefix, camera_id)"
                " VALUES (gen_random_uuid(), $1, $2, $3)",
                new.hash,
                new.prefix,
                cam.id,
            )
            await db.execute(
                "SELECT pg_notify($1, $2)", DEVICE_CHANGED, json.dumps({"kind": "camera", "id": str(cam.id)})
            )
        assert await _refused_within(client, cam.token, 1.0) < 1.0
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(new.secret))).status_code == 202


async def test_a_decommissioned_camera_is_refused_within_a_second(live_app, db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    async with live_app(rate_per_s=1000.0, rate_burst=1000.0) as (_, client):
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))).status_code == 202
        async with db.transaction():
            await db.execute("UPDATE camera SET lifecycle = 'decommissioned' WHERE id = $1", cam.id)
            await db.execute(
                "SELECT pg_notify($1, $2)", DEVICE_CHANGED, json.dumps({"kind": "camera", "id": str(cam.id)})
            )
        assert await _refused_within(client, cam.token, 1.0) < 1.0


async def test_a_camera_moved_off_a_gateway_is_refused_in_its_batches(live_app, db: asyncpg.Connection) -> None:
    gw = await add_gateway(db)
    cam = await add_camera(db, gateway_id=gw.id)
    batch = {"heartbeats": [{"camera": cam.code}]}
    async with live_app(rate_per_s=1000.0, rate_burst=1000.0) as (_, client):
        first = await client.post("/v1/heartbeats/batch", json=batch, headers=bearer(gw.token))
        assert first.json()["results"][0]["status"] == 202
        async with db.transaction():
            await db.execute("UPDATE camera SET gateway_id = NULL WHERE id = $1", cam.id)
            await db.execute(
                "SELECT pg_notify($1, $2)", DEVICE_CHANGED, json.dumps({"kind": "camera", "id": str(cam.id)})
            )
        await asyncio.sleep(0.3)
        again = await client.post("/v1/heartbeats/batch", json=batch, headers=bearer(gw.token))
        assert again.json()["results"][0]["status"] == 403


async def test_a_revoked_gateway_token_is_refused_within_a_second(live_app, db: asyncpg.Connection) -> None:
    gw = await add_gateway(db)
    batch = {"heartbeats": [{"camera": "X"}]}
    async with live_app() as (_, client):
        assert (await client.post("/v1/heartbeats/batch", json=batch, headers=bearer(gw.token))).status_code == 200
        async with db.transaction():
            await db.execute("UPDATE device_credential SET revoked_at = now() WHERE gateway_id = $1", gw.id)
            await db.execute(
                "SELECT pg_notify($1, $2)", DEVICE_CHANGED, json.dumps({"kind": "gateway", "id": str(gw.id)})
            )
        assert await _refused_within(client, gw.token, 1.0, "/v1/heartbeats/batch", batch) < 1.0


async def test_a_dropped_listener_flushes_the_cache(live_app, db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    async with live_app(rate_per_s=1000.0, rate_burst=1000.0, reconnect_interval_s=0.05) as (app, client):
        assert (await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))).status_code == 202
        assert len(app.state.ingest.cache) >= 1
        # Revoked without a NOTIFY (as if it were sent while nobody listened), then the listener dies.
        await db.execute("UPDATE device_credential SET revoked_at = now() WHERE camera_id = $1", cam.id)
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'citycam-ingest-listener' AND datname = current_database()"
        )
        assert killed >= 1
        assert await _refused_within(client, cam.token, 2.0) < 2.0


async def test_an_unreadable_notify_payload_flushes_everything(live_app, db: asyncpg.Connection) -> None:
    cam = await add_camera(db)
    async with live_app(rate_per_s=1000.0, rate_burst=1000.0) as (app, client):
        await client.post("/v1/heartbeats", json={}, headers=bearer(cam.token))
        assert len(app.state.ingest.cache) >= 1
        await db.execute("SELECT pg_notify($1, 'not json')", DEVICE_CHANGED)
        for _ in range(100):
            if len(app.state.ingest.cache) == 0:
                break
            await asyncio.sleep(0.01)
        assert len(app.state.ingest.cache) == 0
