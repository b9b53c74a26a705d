"""Bulk data for the read benchmarks, loaded straight into the shared tables with COPY (seconds, not minutes).

Cameras report every 3600 s so that the health statuses hold still for the whole run: 10% have been
silent for a day (offline), 5% are two intervals late and report trouble (degraded), the rest reported
in the last ten minutes (online). About 30% sit behind NVR gateways of up to 1,000 cameras, which the
batch benchmark reports for. Device tokens are issued here and kept in files under the work dir.
"""

import ipaddress
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from citycam.simulator.fleet import generate_fleet
from shared.tokens import issue_api_key, issue_device_token

INTERVAL_S = 3600
GATEWAY_SIZE = 1000


@dataclass
class LoadedData:
    """What the benchmarks need to know about the loaded fleet."""

    cameras: int = 0
    codes: list[str] = field(default_factory=list)
    online_tokens: list[str] = field(default_factory=list)  # direct, online cameras only
    gateways: list[tuple[str, list[str]]] = field(default_factory=list)  # (gateway token, its camera codes)
    gateway_camera_ids: list[list[uuid.UUID]] = field(default_factory=list)
    offline: int = 0
    degraded: int = 0
    admin_key: str = ""
    coordinates: list[tuple[float, float]] = field(default_factory=list)


async def load(database_url: str, count: int, *, seed: int = 2024) -> LoadedData:
    """Load `count` cameras with their gateways, tokens and last heartbeats; return what the benches need."""
    rng = random.Random(seed)
    fleet = generate_fleet(count, seed=seed, gateway_share=0.0)
    now = datetime.now(UTC)
    data = LoadedData(cameras=count)
    ids = [uuid.uuid4() for _ in fleet.cameras]
    order = list(range(count))
    rng.shuffle(order)
    behind = order[: round(count * 0.3)]
    direct = order[len(behind) :]
    offline = set(direct[: round(count * 0.10)])
    degraded = set(direct[len(offline) : len(offline) + round(count * 0.05)])
    data.offline, data.degraded = len(offline), len(degraded)

    gateway_rows = []
    credential_rows: list[tuple[uuid.UUID, str, str, uuid.UUID | None, uuid.UUID | None]] = []
    camera_gateway: dict[int, uuid.UUID] = {}
    for number, start in enumerate(range(0, len(behind), GATEWAY_SIZE), start=1):
        members = behind[start : start + GATEWAY_SIZE]
        gateway_id = uuid.uuid4()
        first = fleet.cameras[members[0]]
        gateway_rows.append(
            (
                gateway_id,
                f"BENCH-NVR-{number:03d}",
                f"Bench NVR {number}",
                first.district,
                first.latitude,
                first.longitude,
                "Hikvision",
                "DS-9664NI-M8",
                INTERVAL_S,
            )
        )
        token = issue_device_token()
        credential_rows.append((uuid.uuid4(), token.hash, token.prefix, None, gateway_id))
        data.gateways.append((token.secret, [fleet.cameras[i].code for i in members]))
        data.gateway_camera_ids.append([ids[i] for i in members])
        for i in members:
            camera_gateway[i] = gateway_id

    camera_rows = []
    state_rows = []
    for i, camera in enumerate(fleet.cameras):
        camera_rows.append(
            (
                ids[i],
                camera.code,
                camera.name,
                camera.latitude,
                camera.longitude,
                camera.address,
                camera.district,
                camera.road,
                camera.direction,
                camera.kind,
                camera.vendor,
                camera.model,
                camera.firmware,
                ipaddress.ip_address(camera.ip),
                camera.stream_url.split("@", 1)[0].split("//")[0] + "//" + camera.stream_url.split("@", 1)[1],
                "active",
                INTERVAL_S,
                camera.tags,
                camera.owner,
                camera_gateway.get(i),
                camera.installed_at,
            )
        )
        token = issue_device_token()
        credential_rows.append((uuid.uuid4(), token.hash, token.prefix, ids[i], None))
        if i in offline:
            seen, fps, loss = now - timedelta(days=1), 25.0, 0.1
        elif i in degraded:
            seen, fps, loss = now - timedelta(seconds=2 * INTERVAL_S), 2.0, 25.0
        else:
            seen, fps, loss = now - timedelta(seconds=rng.uniform(0, 600)), 25.0, 0.1
            if i not in camera_gateway:
                data.online_tokens.append(token.secret)
        state_rows.append((ids[i], seen, seen, 86_400, fps, 4096.0, loss, 41.0, 60.0, camera_gateway.get(i), 1))
        data.codes.append(camera.code)
        data.coordinates.append((camera.latitude, camera.longitude))
    rng.shuffle(data.online_tokens)

    admin = issue_api_key()
    data.admin_key = admin.secret
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO api_key (id, name, role, prefix, key_hash) VALUES ($1, 'bench-admin', 'admin', $2, $3)",
                uuid.uuid4(),
                admin.prefix,
                admin.hash,
            )
            await conn.copy_records_to_table(
                "gateway",
                records=gateway_rows,
                columns=[
                    "id",
                    "code",
                    "name",
                    "district",
                    "latitude",
                    "longitude",
                    "vendor",
                    "model",
                    "heartbeat_interval_s",
                ],
            )
            await conn.copy_records_to_table(
                "camera",
                records=camera_rows,
                columns=[
                    "id",
                    "code",
                    "name",
                    "latitude",
                    "longitude",
                    "address",
                    "district",
                    "road",
                    "direction",
                    "kind",
                    "vendor",
                    "model",
                    "firmware",
                    "ip",
                    "stream_url",
                    "lifecycle",
                    "heartbeat_interval_s",
                    "tags",
                    "owner",
                    "gateway_id",
                    "installed_at",
                ],
            )
            await conn.copy_records_to_table(
                "device_credential",
                records=credential_rows,
                columns=["id", "token_hash", "prefix", "camera_id", "gateway_id"],
            )
            await conn.copy_records_to_table(
                "camera_state",
                records=state_rows,
                columns=[
                    "camera_id",
                    "received_at",
                    "sent_at",
                    "uptime_s",
                    "fps",
                    "bitrate_kbps",
                    "packet_loss_pct",
                    "temperature_c",
                    "storage_free_pct",
                    "gateway_id",
                    "heartbeat_count",
                ],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return data


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write one item per line (token lists, request paths) for wrk's Lua scripts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
