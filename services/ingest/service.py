"""Ingest logic and SQL: the group upsert, device look-ups and the partition retention job.

These run on plain asyncpg connections (the hot path never goes through the ORM). The upsert's columns
come from shared.models.HEARTBEAT_METRICS, so a new metric needs no edit here.
"""

import logging
import re
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import ARRAY, BigInteger, Float, String
from sqlalchemy.types import TypeEngine

from shared.models import HEARTBEAT_METRIC_TYPES, HEARTBEAT_METRICS, HEARTBEAT_PARTITION_PREFIX

log = logging.getLogger(__name__)

# Opens one plain asyncpg connection (main.py makes one per purpose: writer, listener, look-ups).
Connect = Callable[[], Coroutine[None, None, asyncpg.Connection]]


class HeartbeatRow(NamedTuple):
    """One heartbeat as stored: `metrics` holds the values of HEARTBEAT_METRICS, in that order."""

    camera_id: uuid.UUID
    received_at: datetime
    sent_at: datetime | None = None
    gateway_id: uuid.UUID | None = None
    metrics: tuple[object, ...] = (None,) * len(HEARTBEAT_METRICS)


def heartbeat_row(
    camera_id: uuid.UUID,
    received_at: datetime,
    *,
    sent_at: datetime | None = None,
    gateway_id: uuid.UUID | None = None,
    **metrics: object,
) -> HeartbeatRow:
    """A row from metrics by name (tests and tools; the hot path builds the tuple directly)."""
    unknown = set(metrics) - set(HEARTBEAT_METRICS)
    if unknown:
        raise TypeError(f"not heartbeat metrics: {sorted(unknown)}")
    return HeartbeatRow(camera_id, received_at, sent_at, gateway_id, tuple(metrics.get(m) for m in HEARTBEAT_METRICS))


class GatewayBeat(NamedTuple):
    """A gateway's own liveness, recorded apart from its cameras'."""

    gateway_id: uuid.UUID
    received_at: datetime
    sent_at: datetime | None
    cameras_reported: int


def _cast(column: TypeEngine[Any]) -> str:
    # An array column travels as its items joined by ',' (unnest cannot take ragged arrays; error
    # codes cannot contain a comma) and is split again in the statement.
    if isinstance(column, ARRAY | String):
        return "text"
    if isinstance(column, BigInteger):
        return "int8"
    if isinstance(column, Float):
        return "float8"
    raise TypeError(f"no unnest type for {column!r}")


_JOINED = frozenset(name for name, column in HEARTBEAT_METRIC_TYPES.items() if isinstance(column, ARRAY))
_INPUT = {
    "camera_id": "uuid",
    "received_at": "timestamptz",
    "sent_at": "timestamptz",
    "gateway_id": "uuid",
    **{name: _cast(column) for name, column in HEARTBEAT_METRIC_TYPES.items()},
}
# The order of HeartbeatRow once its metrics are spread: the columns of `r` and of the statement's arrays.
_NAMES = tuple(_INPUT)
_COLUMNS = ", ".join(_NAMES)
_STORED = ", ".join(f"string_to_array({c}, ',')" if c in _JOINED else c for c in _NAMES)
_UNNEST = ", ".join(f"${i}::{cast}[]" for i, cast in enumerate(_INPUT.values(), start=1))
_G = len(_NAMES)  # the gateway arrays follow the heartbeat arrays
_NEWER = "EXCLUDED.received_at > s.received_at"
_STATE_SET = ",\n    ".join(
    f"{c} = CASE WHEN {_NEWER} THEN EXCLUDED.{c} ELSE s.{c} END"
    for c in _NAMES
    if c not in ("camera_id", "received_at")
)
_GATEWAYS_CTE = f""", gateways AS (
    INSERT INTO gateway_state AS g (gateway_id, received_at, sent_at, cameras_reported)
    SELECT * FROM unnest(${_G + 1}::uuid[], ${_G + 2}::timestamptz[], ${_G + 3}::timestamptz[], ${_G + 4}::int4[])
        AS v(gateway_id, received_at, sent_at, cameras_reported)
    ORDER BY gateway_id
    ON CONFLICT (gateway_id) DO UPDATE SET
        received_at = GREATEST(g.received_at, EXCLUDED.received_at),
        sent_at = CASE WHEN EXCLUDED.received_at > g.received_at THEN EXCLUDED.sent_at ELSE g.sent_at END,
        cameras_reported = CASE WHEN EXCLUDED.received_at > g.received_at
                                THEN EXCLUDED.cameras_reported ELSE g.cameras_reported END
)"""
# Rows whose cameras are all distinct (the usual flush) are upserted as they come; otherwise each
# camera's newest row is kept and the count of its rows added (ON CONFLICT cannot touch a row twice).
_STATE_DISTINCT = f"SELECT {_STORED}, 1 FROM r"
_STATE_DEDUPED = f"""SELECT DISTINCT ON (camera_id) {_STORED}, count(*) OVER (PARTITION BY camera_id)
FROM r
ORDER BY camera_id, received_at DESC"""


def _upsert_sql(*, distinct: bool, gateways: bool) -> str:
    # One statement, so one round trip and one atomic commit: history rows appended, the gateways'
    # liveness and each camera's newest state upserted. camera_state only moves forward on received_at
    # (an older heartbeat committed late never overwrites a newer one) and rows arrive sorted by
    # camera, so two flushes running side by side lock rows in the same order and cannot deadlock.
    return f"""
WITH r AS (
    SELECT * FROM unnest({_UNNEST}) AS u({_COLUMNS})
), history AS (
    INSERT INTO heartbeat ({_COLUMNS})
    SELECT {_STORED}
    FROM r
    ON CONFLICT DO NOTHING
){_GATEWAYS_CTE if gateways else ""}
INSERT INTO camera_state AS s ({_COLUMNS}, heartbeat_count)
{_STATE_DISTINCT if distinct else _STATE_DEDUPED}
ON CONFLICT (camera_id) DO UPDATE SET
    received_at = GREATEST(s.received_at, EXCLUDED.received_at),
    heartbeat_count = s.heartbeat_count + EXCLUDED.heartbeat_count,
    {_STATE_SET}
"""


_SQL = {(d, g): _upsert_sql(distinct=d, gateways=g) for d in (True, False) for g in (True, False)}
_camera = itemgetter(0)
_METRICS_AT = tuple(range(len(HEARTBEAT_METRICS)))
_JOINED_AT = frozenset(i for i, name in enumerate(HEARTBEAT_METRICS) if name in _JOINED)


def _joined(values: Sequence[object]) -> list[object]:
    return [",".join(v) if isinstance(v, list) else v for v in values]


def upsert_statement(rows: Sequence[HeartbeatRow], gateways: Sequence[GatewayBeat] = ()) -> tuple[str, list[Any]]:
    """The statement and its column arrays for these rows: sorted by camera, one gateway row each."""
    ordered = sorted(rows, key=_camera)
    distinct = all(ordered[i][0] != ordered[i + 1][0] for i in range(len(ordered) - 1))
    columns: list[Any]
    if ordered:
        camera_ids, received, sent, gateway_ids, metrics = zip(*ordered, strict=True)
        by_metric = list(zip(*metrics, strict=True))
        columns = [
            list(camera_ids),
            list(received),
            list(sent),
            list(gateway_ids),
            *(_joined(by_metric[i]) if i in _JOINED_AT else list(by_metric[i]) for i in _METRICS_AT),
        ]
    else:
        columns = [[] for _ in _NAMES]
    if not gateways:
        return _SQL[(distinct, False)], columns
    beats: dict[uuid.UUID, GatewayBeat] = {}
    for beat in gateways:
        known = beats.get(beat.gateway_id)
        if known is None or beat.received_at > known.received_at:
            beats[beat.gateway_id] = beat
    gw_columns = [list(col) for col in zip(*beats.values(), strict=True)]
    return _SQL[(distinct, True)], columns + gw_columns


async def upsert_heartbeats(
    conn: asyncpg.Connection,
    rows: Sequence[HeartbeatRow],
    gateways: Sequence[GatewayBeat] = (),
    *,
    timeout: float | None = None,
) -> None:
    """Store heartbeats and gateway beats in one statement (atomic; commits unless in a transaction)."""
    sql, args = upsert_statement(rows, gateways)
    await conn.execute(sql, *args, timeout=timeout)


@dataclass(frozen=True, slots=True)
class Device:
    """What a device token stands for: a camera (with its lifecycle and gateway) or a gateway."""

    kind: str
    id: uuid.UUID
    lifecycle: str
    gateway_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class GatewayCamera:
    """A camera behind a gateway, as a batch item may name it."""

    id: uuid.UUID
    code: str
    lifecycle: str


DEVICES_SQL = """
SELECT d.token_hash, d.camera_id, d.gateway_id AS gateway_key,
       c.lifecycle AS camera_lifecycle, c.gateway_id AS camera_gateway, g.lifecycle AS gateway_lifecycle
FROM device_credential d
LEFT JOIN camera c ON c.id = d.camera_id
LEFT JOIN gateway g ON g.id = d.gateway_id
WHERE d.token_hash = ANY($1::text[]) AND d.revoked_at IS NULL
"""


async def devices_by_token_hash(
    conn: asyncpg.Connection, hashes: Sequence[str], *, timeout: float | None = None
) -> dict[str, Device]:
    """The live devices behind these token hashes (unknown or revoked hashes are absent)."""
    found: dict[str, Device] = {}
    for rec in await conn.fetch(DEVICES_SQL, list(hashes), timeout=timeout):
        if rec["camera_id"] is not None and rec["camera_lifecycle"] is not None:
            found[rec["token_hash"]] = Device(
                "camera", rec["camera_id"], rec["camera_lifecycle"], rec["camera_gateway"]
            )
        elif rec["gateway_key"] is not None and rec["gateway_lifecycle"] is not None:
            found[rec["token_hash"]] = Device("gateway", rec["gateway_key"], rec["gateway_lifecycle"])
    return found


async def gateway_cameras(
    conn: asyncpg.Connection, gateway_id: uuid.UUID, *, timeout: float | None = None
) -> dict[str, GatewayCamera]:
    """The cameras behind a gateway, keyed by both their id (as text) and their code."""
    cameras: dict[str, GatewayCamera] = {}
    sql = "SELECT id, code, lifecycle FROM camera WHERE gateway_id = $1"
    for rec in await conn.fetch(sql, gateway_id, timeout=timeout):
        cam = GatewayCamera(rec["id"], rec["code"], rec["lifecycle"])
        cameras[str(cam.id)] = cam
        cameras[cam.code] = cam
    return cameras


# ---- retention: daily partitions of heartbeat -------------------------------------------------

RETENTION_LOCK_KEY = 0x63697479_0003  # "city" + migration slot: one job at a time across replicas
_PARTITION_RE = re.compile(rf"^{HEARTBEAT_PARTITION_PREFIX}(\d{{8}})$")


@dataclass
class RetentionReport:
    created: list[str]
    dropped: list[str]
    moved_rows: int
    purged_default_rows: int


def partition_name(day: date) -> str:
    """heartbeat_pYYYYMMDD."""
    return f"{HEARTBEAT_PARTITION_PREFIX}{day:%Y%m%d}"


def _bound(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


async def existing_partitions(conn: asyncpg.Connection) -> dict[date, str]:
    """The daily partitions attached to heartbeat, by day."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'heartbeat'::regclass"
    )
    out: dict[date, str] = {}
    for row in rows:
        match = _PARTITION_RE.match(row["relname"])
        if match:
            out[datetime.strptime(match.group(1), "%Y%m%d").date()] = row["relname"]
    return out


async def create_partition(conn: asyncpg.Connection, day: date, *, lock_timeout_ms: int) -> int:
    """Create the day's partition; rows that landed in heartbeat_default for that day move into it."""
    name = partition_name(day)
    lo, hi = _bound(day), _bound(day + timedelta(days=1))
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
        stranded = await conn.fetchval(
            "SELECT count(*) FROM heartbeat_default"
            " WHERE received_at >= $1::timestamptz AND received_at < $2::timestamptz",
            datetime.fromisoformat(lo),
            datetime.fromisoformat(hi),
        )
        if not stranded:
            await conn.execute(f"CREATE TABLE {name} PARTITION OF heartbeat FOR VALUES FROM ('{lo}') TO ('{hi}')")
            return 0
        # A partition cannot be created over rows the default partition holds for its range: build it
        # beside, move the rows, then attach (all in this transaction, so no heartbeat is lost).
        await conn.execute(f"CREATE TABLE {name} (LIKE heartbeat INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        await conn.execute(
            f"WITH moved AS (DELETE FROM heartbeat_default WHERE received_at >= '{lo}' AND received_at < '{hi}'"
            f" RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        )
        await conn.execute(f"ALTER TABLE heartbeat ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')")
        return int(stranded)


async def maintain_partitions(
    conn: asyncpg.Connection,
    *,
    today: date,
    ahead_days: int,
    retention_days: int,
    lock_timeout_ms: int,
) -> RetentionReport | None:
    """Create the partitions of today and the next days, drop those past retention; None if another
    replica holds the job's advisory lock."""
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK_KEY):
        return None
    report = RetentionReport(created=[], dropped=[], moved_rows=0, purged_default_rows=0)
    try:
        existing = await existing_partitions(conn)
        for offset in range(ahead_days + 1):
            day = today + timedelta(days=offset)
            if day not in existing:
                report.moved_rows += await create_partition(conn, day, lock_timeout_ms=lock_timeout_ms)
                report.created.append(partition_name(day))
        oldest_kept = today - timedelta(days=retention_days)
        for day, name in sorted(existing.items()):
            if day < oldest_kept:
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                    await conn.execute(f"DROP TABLE {name}")
                report.dropped.append(name)
        status = await conn.execute(
            "DELETE FROM heartbeat_default WHERE received_at < $1::timestamptz",
            datetime(oldest_kept.year, oldest_kept.month, oldest_kept.day, tzinfo=UTC),
        )
        report.purged_default_rows = int(status.split()[-1])
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", RETENTION_LOCK_KEY)
    return report
