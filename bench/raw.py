"""The batch baseline: the same durable upsert as ingest's (history rows + monotonic camera_state), run
directly through asyncpg with nothing in front of it."""

import asyncio
import time
import uuid

import asyncpg

UPSERT = """
WITH rows AS (
    SELECT * FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::float8[], $5::float8[])
        AS t(camera_id, fps, bitrate_kbps, packet_loss_pct, temperature_c)
    ORDER BY camera_id
), history AS (
    INSERT INTO heartbeat (camera_id, received_at, sent_at, fps, bitrate_kbps, packet_loss_pct, temperature_c)
    SELECT camera_id, now(), now(), fps, bitrate_kbps, packet_loss_pct, temperature_c FROM rows
    ON CONFLICT DO NOTHING
)
INSERT INTO camera_state AS s (camera_id, received_at, sent_at, fps, bitrate_kbps, packet_loss_pct, temperature_c)
SELECT camera_id, now(), now(), fps, bitrate_kbps, packet_loss_pct, temperature_c FROM rows
ON CONFLICT (camera_id) DO UPDATE SET
    received_at = EXCLUDED.received_at,
    sent_at = EXCLUDED.sent_at,
    fps = EXCLUDED.fps,
    bitrate_kbps = EXCLUDED.bitrate_kbps,
    packet_loss_pct = EXCLUDED.packet_loss_pct,
    temperature_c = EXCLUDED.temperature_c,
    heartbeat_count = s.heartbeat_count + 1
WHERE s.received_at < EXCLUDED.received_at
"""


async def raw_upsert_rows_per_s(
    database_url: str, batches: list[list[uuid.UUID]], *, duration_s: float, concurrency: int = 2
) -> float:
    """Rows per second committed by `concurrency` connections, each upserting whole batches in turn."""
    pool = await asyncpg.create_pool(database_url, min_size=concurrency, max_size=concurrency)
    assert pool is not None
    rows = 0
    deadline = time.perf_counter() + duration_s

    async def worker(offset: int) -> None:
        nonlocal rows
        turn = offset
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                ids = sorted(batches[turn % len(batches)])
                turn += concurrency
                n = len(ids)
                async with conn.transaction():
                    await conn.execute(UPSERT, ids, [25.0] * n, [4096.0] * n, [0.1] * n, [41.5] * n)
                rows += n

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        await pool.close()
    return rows / (time.perf_counter() - started)
