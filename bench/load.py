"""The one fleet loader: bulk cameras, gateways, tokens and last heartbeats, COPYed straight into the shared tables.

    python -m bench.load postgresql://postgres@127.0.0.1:5432/citycam_bench [COUNT] [--replace]

`make bench`, `make bench-search` and `python -m bench.health_perf` load through `load()`; the command
line loads a migrated database by hand (plan checks, `python -m bench.search_queries`). The cameras come
from the simulator's fleet (real districts, roads, kinds and vendors). With the bench's shape, cameras
report every 3600 s so that the health statuses hold still for the whole run: 10% have been silent for a
day (offline), 5% are two intervals late and report trouble (degraded), the rest reported within the last
sixth of an interval (online). About 30% sit behind NVR gateways of up to 1,000 cameras, which the batch
benchmark reports for. Device tokens are issued here; the benches keep those they need in files.
"""

import argparse
import asyncio
import ipaddress
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from citycam.simulator.fleet import generate_fleet
from shared.models import HEARTBEAT_METRICS
from shared.tokens import issue_api_key, issue_device_token

GATEWAY_SIZE = 1000
# The last heartbeat's metrics of a camera in good health and of one in trouble (by name: the columns
# are shared.models.HEARTBEAT_METRICS, a metric named here in none of them is an error).
HEALTHY_METRICS: dict[str, float] = {
    "uptime_s": 86_400,
    "fps": 25.0,
    "bitrate_kbps": 4096.0,
    "packet_loss_pct": 0.1,
    "temperature_c": 41.0,
    "storage_free_pct": 60.0,
}
TROUBLED_METRICS = {**HEALTHY_METRICS, "fps": 2.0, "packet_loss_pct": 25.0}
assert set(HEALTHY_METRICS) <= set(HEARTBEAT_METRICS), "bench metrics must be heartbeat metrics"
STATE_COLUMNS = ["camera_id", "received_at", "sent_at", *HEARTBEAT_METRICS, "gateway_id", "heartbeat_count"]
# What a replacing load empties first: the fleet and everything derived from it (CASCADE takes the
# credentials, gateway states and audit rows along).
REPLACED_TABLES = (
    "webhook_delivery, webhook, incident, status_event, camera_health, health_meta, camera_state, camera, gateway"
)


@dataclass(frozen=True)
class FleetShape:
    """How the loaded fleet looks: its heartbeat interval, and shares of the whole fleet by state."""

    interval_s: int = 3600
    offline: float = 0.10  # silent for a day
    degraded: float = 0.05  # two intervals late, low frame rate, high packet loss
    maintenance: float = 0.0  # lifecycle maintenance, last heard recently
    behind_gateways: float = 0.30  # reported for by NVRs of GATEWAY_SIZE cameras


BENCH_SHAPE = FleetShape()


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
    maintenance: int = 0
    admin_key: str = ""
    coordinates: list[tuple[float, float]] = field(default_factory=list)


async def insert_admin_key(conn: asyncpg.Connection, name: str) -> str:
    """A fresh admin key written straight into the database; its secret."""
    issued = issue_api_key()
    await conn.execute(
        "INSERT INTO api_key (id, name, role, prefix, key_hash) VALUES ($1, $2, 'admin', $3, $4)",
        uuid.uuid4(),
        name,
        issued.prefix,
        issued.hash,
    )
    return issued.secret


async def load(
    database_url: str, count: int, *, shape: FleetShape = BENCH_SHAPE, seed: int = 2024, replace: bool = False
) -> LoadedData:
    """Load `count` cameras with their gateways, tokens and last heartbeats; return what the benches need.

    The database must be migrated and, unless `replace` empties it first, hold no fleet yet.
    """
    rng = random.Random(seed)
    fleet = generate_fleet(count, seed=seed, gateway_share=0.0)
    now = datetime.now(UTC)
    interval = shape.interval_s
    data = LoadedData(cameras=count)
    ids = [uuid.uuid4() for _ in fleet.cameras]
    order = list(range(count))
    rng.shuffle(order)
    behind = order[: round(count * shape.behind_gateways)]
    direct = order[len(behind) :]
    offline = set(direct[: round(count * shape.offline)])
    degraded = set(direct[len(offline) : len(offline) + round(count * shape.degraded)])
    taken = len(offline) + len(degraded)
    maintenance = set(direct[taken : taken + round(count * shape.maintenance)])
    data.offline, data.degraded, data.maintenance = len(offline), len(degraded), len(maintenance)

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
                interval,
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
                "maintenance" if i in maintenance else "active",
                interval,
                camera.tags,
                camera.owner,
                camera_gateway.get(i),
                camera.installed_at,
            )
        )
        token = issue_device_token()
        credential_rows.append((uuid.uuid4(), token.hash, token.prefix, ids[i], None))
        metrics = HEALTHY_METRICS
        if i in offline:
            seen = now - timedelta(days=1)
        elif i in degraded:
            seen, metrics = now - timedelta(seconds=2 * interval), TROUBLED_METRICS
        else:
            seen = now - timedelta(seconds=rng.uniform(0, interval / 6))
            if i not in camera_gateway and i not in maintenance:
                data.online_tokens.append(token.secret)
        values = (metrics.get(name) for name in HEARTBEAT_METRICS)
        state_rows.append((ids[i], seen, seen, *values, camera_gateway.get(i), 1))
        data.codes.append(camera.code)
        data.coordinates.append((camera.latitude, camera.longitude))
    rng.shuffle(data.online_tokens)

    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            if replace:
                await conn.execute(f"TRUNCATE {REPLACED_TABLES} CASCADE")
            data.admin_key = await insert_admin_key(conn, "bench-admin")
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
            await conn.copy_records_to_table("camera_state", records=state_rows, columns=STATE_COLUMNS)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return data


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write one item per line (token lists, request paths) for wrk's Lua scripts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _load_settled(dsn: str, count: int, *, replace: bool) -> LoadedData:
    data = await load(dsn, count, replace=replace)
    conn = await asyncpg.connect(dsn)
    try:
        # For plan checks by hand, as in a settled system: VACUUM sets the visibility map (index-only scans)
        # and merges the tags index's GIN pending list (the search index has none).
        await conn.execute("VACUUM ANALYZE camera")
    finally:
        await conn.close()
    return data


def main(argv: list[str] | None = None) -> None:
    """Command line: DSN [COUNT] [--replace]."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn", help="a migrated database (postgresql://...)")
    parser.add_argument("count", nargs="?", type=int, default=100_000)
    parser.add_argument("--replace", action="store_true", help="empty the fleet tables first")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        data = asyncio.run(_load_settled(args.dsn, args.count, replace=args.replace))
    except asyncpg.UniqueViolationError:
        sys.exit("the database already holds a fleet: pass --replace to empty it first")
    print(
        f"loaded {data.cameras:,} cameras ({data.offline:,} offline, {data.degraded:,} degraded, "
        f"{len(data.gateways)} gateways) in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
