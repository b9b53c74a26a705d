"""Health reads over the evaluator's verdicts, and the evaluator pass itself (`evaluate`, for the bench)."""

import hashlib
import re
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.evaluation import RANKS, PassResult, evaluate
from services.health.schemas import (
    Availability,
    AvailabilityItem,
    ByStatus,
    CameraHealthDetail,
    CameraHealthRead,
    EventRead,
    GroupItem,
    Groups,
    HeartbeatRead,
    IncidentRead,
    Summary,
)
from services.health.settings import get_health_settings
from services.health.webhooks import event_read, incident_read
from shared.errors import BadRequest, NotFound, ValidationFailed
from shared.models import Camera, CameraState, Incident, StatusEvent
from shared.pagination import decode_cursor, encode_cursor

__all__ = ["PassResult", "evaluate"]

STATUSES = tuple(RANKS)
GROUP_COLUMNS = {
    "district": "h.district",
    "ward": "h.ward",
    "vendor": "h.vendor",
    "model": "h.model",
    "kind": "h.kind",
    "owner": "h.owner",
    "gateway": "h.gateway_id::text",
}

# Aggregates are cached per verdict generation: while nothing changes, polling costs one tiny read.
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 256


def _cached(key: tuple[Any, ...]) -> Any:
    value = _CACHE.get(key)
    if value is not None:
        _CACHE.move_to_end(key)
    return value


def _store(key: tuple[Any, ...], value: Any) -> Any:
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


async def current_meta(session: AsyncSession) -> Any:
    """The last pass (generation, as_of, stale, newest heartbeat) and the DB clock; None before the first pass."""
    return (
        await session.execute(
            text(
                "SELECT generation, evaluated_at, as_of, stale, newest_heartbeat_at, counts,"
                " clock_timestamp() AS now FROM health_meta WHERE id = 1"
            )
        )
    ).first()


def etag_for(meta: Any, *parts: object) -> str:
    """A weak ETag that changes whenever any verdict (or the stale flag) changes."""
    generation = meta.generation if meta is not None else 0
    stale = int(meta.stale) if meta is not None else 0
    # The query parts are hashed: they are client text, and a header must stay ASCII whatever was asked.
    query = "\x1f".join(str(p) for p in parts if p is not None)
    suffix = hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()[:12] if query else ""
    return f'W/"{generation:x}-{stale}{"-" + suffix if suffix else ""}"'


def _availability(counts: ByStatus) -> float | None:
    up = counts.online + counts.degraded
    monitored = up + counts.offline
    return round(100.0 * up / monitored, 3) if monitored else None


async def summary(session: AsyncSession, *, meta: Any) -> Summary:
    """City-wide counts by status, from the last pass (which stored them with its generation)."""
    key = ("summary", meta.generation) if meta is not None else None
    cached = _cached(key) if key else None
    if cached is None and meta is not None and meta.counts:
        cached = (ByStatus(**meta.counts["by_status"]), meta.counts["flapping"], meta.counts["open_incidents"])
    if cached is None:
        rows = (
            await session.execute(
                text(
                    "SELECT status, count(*) AS n, count(*) FILTER (WHERE flapping) AS flapping"
                    " FROM camera_health GROUP BY status"
                )
            )
        ).all()
        open_incidents = (
            await session.execute(text("SELECT count(*) FROM incident WHERE state = 'open'"))
        ).scalar_one()
        counts = ByStatus(**{r.status: r.n for r in rows})
        cached = (counts, sum(r.flapping for r in rows), open_incidents)
        if key:
            _store(key, cached)
    counts, flapping, open_incidents = cached
    age = None
    if meta is not None and meta.newest_heartbeat_at is not None:
        age = round(max(0.0, (meta.now - meta.newest_heartbeat_at).total_seconds()), 3)
    return Summary(
        total=sum(counts.model_dump().values()),
        by_status=counts,
        availability_pct=_availability(counts),
        as_of=meta.as_of if meta else None,
        evaluated_at=meta.evaluated_at if meta else None,
        stale=bool(meta.stale) if meta else False,
        newest_heartbeat_age_s=age,
        flapping=flapping,
        open_incidents=open_incidents,
    )


async def groups(session: AsyncSession, *, meta: Any, by: str, district: str | None) -> Groups:
    """Counts by status per group value, from the last pass."""
    key = ("groups", meta.generation, by, district) if meta is not None else None
    cached = _cached(key) if key else None
    if cached is not None:
        return Groups.model_validate(cached)
    if by == "district" and district is None and meta is not None and meta.counts and "by_district" in meta.counts:
        # The wall's favourite view: stored by the pass with its generation.
        stored = [
            _Row(code, status, n)
            for code, statuses in meta.counts["by_district"].items()
            for status, n in statuses.items()
        ]
        result = _groups_from_rows(by, stored, {})
        if key:
            _store(key, result.model_dump())
        return result
    where = "WHERE h.district = :district" if district else ""
    if by == "tag":
        sql = f"SELECT t AS key, h.status, count(*) AS n FROM camera_health h, unnest(h.tags) t {where} GROUP BY 1, 2"
    else:
        sql = f"SELECT {GROUP_COLUMNS[by]} AS key, h.status, count(*) AS n FROM camera_health h {where} GROUP BY 1, 2"
    rows = (await session.execute(text(sql), {"district": district} if district else {})).all()
    labels: dict[str, str] = {}
    if by == "gateway":
        ids = [uuid.UUID(r.key) for r in rows if r.key]
        if ids:
            found = await session.execute(text("SELECT id::text, code FROM gateway WHERE id = ANY(:ids)"), {"ids": ids})
            labels = {r.id: r.code for r in found}
    result = _groups_from_rows(by, rows, labels)
    if key:
        _store(key, result.model_dump())
    return result


@dataclass
class _Row:
    key: str | None
    status: str
    n: int


def _groups_from_rows(by: str, rows: Sequence[Any], labels: dict[str, str]) -> Groups:
    table: dict[str | None, dict[str, int]] = {}
    for r in rows:
        table.setdefault(r.key, {})[r.status] = r.n
    items = []
    for k in sorted(table, key=lambda x: (x is None, x or "")):
        counts = ByStatus(**table[k])
        items.append(
            GroupItem(
                key=k,
                label=labels.get(k) if k else None,
                total=sum(table[k].values()),
                by_status=counts,
                availability_pct=_availability(counts),
            )
        )
    return Groups(by=by, items=items)


def parse_statuses(raw: list[str] | None) -> list[str] | None:
    """status=offline&status=degraded or status=offline,degraded; 422 for an unknown status."""
    if not raw:
        return None
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    unknown = [v for v in values if v not in STATUSES]
    if unknown:
        raise ValidationFailed(
            f"unknown status {unknown[0][:40]!r}",
            errors=[{"loc": ["query", "status"], "msg": f"must be one of {', '.join(STATUSES)}"}],
        )
    return values or None


async def _gateway_id(session: AsyncSession, ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return await session.scalar(text("SELECT id FROM gateway WHERE code = :c"), {"c": ref})


async def camera_filters(session: AsyncSession, filters: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on camera_health h (and camera c) for the list, map and SD filters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    statuses = parse_statuses(filters.get("status"))
    if statuses:
        where.append("h.rank = ANY(:ranks)")
        params["ranks"] = sorted({RANKS[s] for s in statuses})
    for name in ("district", "ward", "vendor", "model", "kind", "owner"):
        value = filters.get(name)
        if value is not None:
            where.append(f"h.{name} = :{name}")
            params[name] = value
    if filters.get("tag") is not None:
        where.append("h.tags @> :tags")
        params["tags"] = [filters["tag"]]
    if filters.get("gateway") is not None:
        gateway = await _gateway_id(session, filters["gateway"])
        where.append("h.gateway_id = :gateway" if gateway else "false")
        params["gateway"] = gateway
    if filters.get("flapping") is not None:
        where.append("h.flapping = :flapping")
        params["flapping"] = filters["flapping"]
    if filters.get("incident_id") is not None:
        where.append("h.incident_id = :incident_id")
        params["incident_id"] = filters["incident_id"]
    if filters.get("bbox") is not None:
        min_lon, min_lat, max_lon, max_lat = filters["bbox"]
        where.append("c.longitude BETWEEN :min_lon AND :max_lon AND c.latitude BETWEEN :min_lat AND :max_lat")
        params.update(min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat)
    return where, params


_LIST_COLUMNS = """
    h.camera_id, h.code, c.name, h.district, h.ward, c.latitude, c.longitude, h.status, h.reason, h.since,
    h.flapping, s.received_at AS last_seen, h.interval_s, h.incident_id, h.rank
"""


def _camera_dict(r: Any, factor: float) -> dict[str, Any]:
    """A list row as the API shows it (the CameraHealthRead fields), without building a model per row."""
    return {
        "id": r.camera_id,
        "code": r.code,
        "name": r.name,
        "district": r.district,
        "ward": r.ward,
        "latitude": r.latitude,
        "longitude": r.longitude,
        "status": r.status,
        "reason": r.reason,
        "since": r.since,
        "flapping": r.flapping,
        "last_seen": r.last_seen,
        "heartbeat_interval_s": r.interval_s,
        "offline_after_s": r.interval_s * factor,
        "incident_id": r.incident_id,
    }


def _camera_read(r: Any, factor: float) -> CameraHealthRead:
    return CameraHealthRead(
        id=r.camera_id,
        code=r.code,
        name=r.name,
        district=r.district,
        ward=r.ward,
        latitude=r.latitude,
        longitude=r.longitude,
        status=r.status,
        reason=r.reason,
        since=r.since,
        flapping=r.flapping,
        last_seen=r.last_seen,
        heartbeat_interval_s=r.interval_s,
        offline_after_s=r.interval_s * factor,
        incident_id=r.incident_id,
    )


async def list_cameras(
    session: AsyncSession, *, filters: dict[str, Any], limit: int, cursor: str | None, sort: str = "worst"
) -> tuple[list[dict[str, Any]], str | None]:
    """Cameras with their verdicts: worst first (offline, degraded, unknown, online, maintenance; longest
    first within a status), or by code."""
    where, params = await camera_filters(session, filters)
    if sort == "code":
        position = decode_cursor(cursor, keys=("c",))
        if position is not None:
            where.append("c.code > :c")
            params["c"] = str(position["c"])
        order = "c.code"
    else:
        position = decode_cursor(cursor, keys=("r", "s", "i"))
        if position is not None:
            try:
                params.update(
                    r=int(position["r"]),
                    s=datetime.fromisoformat(str(position["s"])),
                    i=uuid.UUID(str(position["i"])),
                )
            except (ValueError, TypeError):
                raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
            where.append("(h.rank, h.since, h.camera_id) > (:r, :s, :i)")
        order = "h.rank, h.since, h.camera_id"
    sql = f"""
        SELECT {_LIST_COLUMNS}
        FROM camera_health h
        JOIN camera c ON c.id = h.camera_id
        LEFT JOIN camera_state s ON s.camera_id = h.camera_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY {order}
        LIMIT :limit
    """
    rows = (await session.execute(text(sql), {**params, "limit": limit + 1})).all()
    factor = get_health_settings().offline_factor
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        if sort == "code":
            next_cursor = encode_cursor({"c": last.code})
        else:
            next_cursor = encode_cursor({"r": last.rank, "s": last.since.isoformat(), "i": str(last.camera_id)})
    return [_camera_dict(r, factor) for r in rows[:limit]], next_cursor


async def find_camera(session: AsyncSession, ref: str) -> Camera:
    """The camera with this id or code; 404 when there is none."""
    try:
        condition = Camera.id == uuid.UUID(ref)
    except ValueError:
        condition = Camera.code == ref
    camera = await session.scalar(select(Camera).where(condition))
    if camera is None:
        raise NotFound(f"no camera with id or code {ref!r}")
    return camera


async def camera_detail(session: AsyncSession, *, ref: str, transitions: int) -> CameraHealthDetail:
    """One camera's verdict, its newest heartbeat and its recent transitions."""
    camera = await find_camera(session, ref)
    if camera.lifecycle not in ("active", "maintenance"):
        raise NotFound(f"camera {camera.code} is {camera.lifecycle} and left out of health")
    row = (
        await session.execute(
            text(
                f"SELECT {_LIST_COLUMNS} FROM camera_health h JOIN camera c ON c.id = h.camera_id"
                " LEFT JOIN camera_state s ON s.camera_id = h.camera_id WHERE h.camera_id = :id"
            ),
            {"id": camera.id},
        )
    ).first()
    meta = await current_meta(session)
    factor = get_health_settings().offline_factor
    if row is None:
        base = CameraHealthRead(
            id=camera.id,
            code=camera.code,
            name=camera.name,
            district=camera.district,
            ward=camera.ward,
            latitude=camera.latitude,
            longitude=camera.longitude,
            status="unknown",
            reason="not evaluated yet",
            since=camera.created_at,
            flapping=False,
            last_seen=None,
            heartbeat_interval_s=camera.heartbeat_interval_s,
            offline_after_s=camera.heartbeat_interval_s * factor,
            incident_id=None,
        )
    else:
        base = _camera_read(row, factor)
    state = await session.get(CameraState, camera.id)
    heartbeat = HeartbeatRead.model_validate(state, from_attributes=True) if state is not None else None
    events = (
        (
            await session.execute(
                select(StatusEvent)
                .where(StatusEvent.camera_id == camera.id)
                .order_by(StatusEvent.at.desc(), StatusEvent.id.desc())
                .limit(transitions)
            )
        )
        .scalars()
        .all()
    )
    return CameraHealthDetail(
        **base.model_dump(),
        as_of=meta.as_of if meta else None,
        last_heartbeat=heartbeat,
        recent_transitions=[event_read(e) for e in events],
    )


def parse_since(raw: str | None) -> int | datetime | None:
    """since= as an event id (integer) or an RFC 3339 time; 422 otherwise."""
    if raw is None:
        return None
    if re.fullmatch(r"\d{1,18}", raw):
        return int(raw)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed(
            "since must be an event id or an RFC 3339 time with offset",
            errors=[{"loc": ["query", "since"], "msg": "expected an event id or an RFC 3339 time"}],
        )
    return value


async def list_events(
    session: AsyncSession, *, filters: dict[str, Any], limit: int, cursor: str | None
) -> tuple[list[EventRead], str | None]:
    """Status transitions newest first; since= keeps only those after an event id or time."""
    position = decode_cursor(cursor, keys=("id",))
    stmt = select(StatusEvent).order_by(StatusEvent.id.desc()).limit(limit + 1)
    since = parse_since(filters.get("since"))
    if isinstance(since, int):
        stmt = stmt.where(StatusEvent.id > since)
    elif isinstance(since, datetime):
        stmt = stmt.where(StatusEvent.at >= since)
    if filters.get("camera") is not None:
        camera = await find_camera(session, filters["camera"])
        stmt = stmt.where(StatusEvent.camera_id == camera.id)
    if filters.get("district") is not None:
        stmt = stmt.where(StatusEvent.district == filters["district"])
    statuses = parse_statuses(filters.get("status"))
    if statuses:
        stmt = stmt.where(StatusEvent.to_status.in_(statuses))
    if filters.get("incident_id") is not None:
        stmt = stmt.where(StatusEvent.incident_id == filters["incident_id"])
    if position is not None:
        try:
            stmt = stmt.where(StatusEvent.id < int(position["id"]))
        except (TypeError, ValueError):
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return [event_read(e) for e in rows[:limit]], next_cursor


async def events_after(session: AsyncSession, *, after: int, limit: int) -> list[StatusEvent]:
    """Events with id > after, oldest first (the stream's catch-up)."""
    stmt = select(StatusEvent).where(StatusEvent.id > after).order_by(StatusEvent.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def newest_event_id(session: AsyncSession) -> int:
    """The newest event id (0 when there is none)."""
    return int(await session.scalar(text("SELECT COALESCE(max(id), 0) FROM status_event")) or 0)


async def list_incidents(
    session: AsyncSession, *, state: str | None, kind: str | None, limit: int, cursor: str | None
) -> tuple[list[IncidentRead], str | None]:
    """Incidents newest first."""
    position = decode_cursor(cursor, keys=("id",))
    stmt = select(Incident).order_by(Incident.id.desc()).limit(limit + 1)
    if state is not None:
        stmt = stmt.where(Incident.state == state)
    if kind is not None:
        stmt = stmt.where(Incident.kind == kind)
    if position is not None:
        try:
            stmt = stmt.where(Incident.id < int(position["id"]))
        except (TypeError, ValueError):
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return [incident_read(i) for i in rows[:limit]], next_cursor


async def get_incident(session: AsyncSession, *, incident_id: int) -> IncidentRead:
    """One incident; 404 when unknown."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident_read(incident)


_WINDOW_RE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_WINDOW = timedelta(days=366)


def parse_window(raw: str) -> timedelta:
    """1h, 24h, 7d, 30m ... or an ISO 8601 duration (PT1H, P7D, P1DT12H); 422 otherwise."""
    match = _WINDOW_RE.match(raw)
    window: timedelta | None = None
    if match:
        window = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    elif raw.startswith("P"):
        try:
            window = TypeAdapter(timedelta).validate_python(raw)
        except ValidationError:
            window = None
    if window is None or window <= timedelta(0) or window > MAX_WINDOW:
        raise ValidationFailed(
            "window must be like 1h, 24h, 7d or an ISO 8601 duration (PT1H, P7D), at most 366 days",
            errors=[{"loc": ["query", "window"], "msg": "expected 1h, 24h, 7d or an ISO 8601 duration"}],
        )
    return window


_AVAILABILITY_SQL = """
WITH cams AS (
    SELECT h.camera_id, {key} AS key FROM camera_health h JOIN camera c ON c.id = h.camera_id {join} {where}
),
timeline AS (
    SELECT c.camera_id, c.key, e.to_status AS status, CAST(:start AS timestamptz) AS at, 0::bigint AS id
    FROM cams c
    CROSS JOIN LATERAL (
        SELECT to_status FROM status_event e
        WHERE e.camera_id = c.camera_id AND e.at <= :start ORDER BY e.at DESC, e.id DESC LIMIT 1
    ) e
    UNION ALL
    SELECT c.camera_id, c.key, e.to_status, e.at, e.id
    FROM cams c JOIN status_event e ON e.camera_id = c.camera_id
    WHERE e.at > :start AND e.at < :end
),
segments AS (
    SELECT key, status,
           EXTRACT(EPOCH FROM LEAD(at, 1, CAST(:end AS timestamptz)) OVER (PARTITION BY camera_id, key ORDER BY at, id)
                   - at) AS secs
    FROM timeline
)
SELECT key, status, sum(secs)::float8 AS secs FROM segments GROUP BY key, status
"""


async def availability(
    session: AsyncSession, *, window_raw: str, end: datetime | None, by: str | None, district: str | None
) -> Availability:
    """Time online/degraded/offline per group over the window, from the recorded transitions.

    Time before a camera's first transition, in maintenance, or in `unknown` (never reported) is kept out
    of the denominator; the last two are reported apart.
    """
    window = parse_window(window_raw)
    if end is None:
        end = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    start = end - window
    where = "WHERE h.district = :district" if district else ""
    join = ""
    if by is None:
        key = "NULL::text"
    elif by == "tag":
        key, join = "t", ", unnest(h.tags) t"
    else:
        key = GROUP_COLUMNS[by]
    sql = _AVAILABILITY_SQL.format(key=key, join=join, where=where)
    params: dict[str, Any] = {"start": start, "end": end}
    if district:
        params["district"] = district
    rows = (await session.execute(text(sql), params)).all()
    count_sql = f"SELECT {key} AS key, count(*) AS n FROM camera_health h {join} {where} GROUP BY 1"
    cameras = {r.key: r.n for r in (await session.execute(text(count_sql), params)).all()}
    per: dict[str | None, dict[str, float]] = {k: {} for k in cameras}
    for r in rows:
        per.setdefault(r.key, {})[r.status] = per.get(r.key, {}).get(r.status, 0.0) + (r.secs or 0.0)

    def item(key: str | None, secs: dict[str, float], n: int) -> AvailabilityItem:
        online, degraded, offline = secs.get("online", 0.0), secs.get("degraded", 0.0), secs.get("offline", 0.0)
        monitored = online + degraded + offline
        return AvailabilityItem(
            key=key,
            cameras=n,
            availability_pct=round(100 * (online + degraded) / monitored, 3) if monitored else None,
            online_pct=round(100 * online / monitored, 3) if monitored else None,
            online_s=round(online, 3),
            degraded_s=round(degraded, 3),
            offline_s=round(offline, 3),
            maintenance_s=round(secs.get("maintenance", 0.0), 3),
            never_reported_s=round(secs.get("unknown", 0.0), 3),
        )

    totals: dict[str, float] = {}
    for secs in per.values():
        for status, value in secs.items():
            totals[status] = totals.get(status, 0.0) + value
    n_total = (
        sum(cameras.values())
        if by != "tag"
        else int(
            await session.scalar(
                text(f"SELECT count(*) FROM camera_health h {where}"), {"district": district} if district else {}
            )
            or 0
        )
    )
    items = (
        []
        if by is None
        else [item(k, per[k], cameras.get(k, 0)) for k in sorted(per, key=lambda x: (x is None, x or ""))]
    )
    return Availability(
        window=window_raw,
        start=start,
        end=end,
        by=by,
        total=item(None, totals, n_total),
        items=items,
    )


def _iso(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


async def geojson(session: AsyncSession, *, filters: dict[str, Any]) -> str:
    """An RFC 7946 FeatureCollection of the cameras matching filters, built by Postgres."""
    where, params = await camera_filters(session, filters)
    sql = f"""
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'features', COALESCE(json_agg(json_build_object(
                'type', 'Feature',
                'id', h.camera_id,
                'geometry', json_build_object(
                    'type', 'Point', 'coordinates', json_build_array(c.longitude, c.latitude)),
                'properties', json_build_object(
                    'id', h.camera_id, 'code', h.code, 'name', c.name, 'district', h.district, 'ward', h.ward,
                    'kind', h.kind, 'status', h.status, 'reason', h.reason, 'since', {_iso("h.since")},
                    'flapping', h.flapping, 'incident_id', h.incident_id,
                    'last_seen', {_iso("s.received_at")})
            ) ORDER BY h.rank, h.since, h.camera_id), '[]'::json)
        )::text
        FROM camera_health h
        JOIN camera c ON c.id = h.camera_id
        LEFT JOIN camera_state s ON s.camera_id = h.camera_id
        {"WHERE " + " AND ".join(where) if where else ""}
    """
    return str((await session.execute(text(sql), params)).scalar_one())


async def camera_counts(session: AsyncSession, *, meta: Any) -> list[tuple[str, str, int]]:
    """(status, district, count) for the /metrics gauges: bounded labels, never one series per camera."""
    key = ("metrics", meta.generation) if meta is not None else None
    cached = _cached(key) if key else None
    if cached is None:
        rows = (
            await session.execute(text("SELECT status, district, count(*) AS n FROM camera_health GROUP BY 1, 2"))
        ).all()
        present: dict[str, dict[str, int]] = {}
        for r in rows:
            present.setdefault(r.district, {})[r.status] = r.n
        cached = [(s, d, present[d].get(s, 0)) for d in sorted(present) for s in STATUSES]
        if key:
            _store(key, cached)
    return list(cached)


def _probe_target(ip: str | None, stream_url: str | None, default_port: int) -> str | None:
    if ip:
        host = ip.split("/")[0]
        return f"[{host}]:{default_port}" if ":" in host else f"{host}:{default_port}"
    if stream_url:
        try:
            parts = urlsplit(stream_url)
            port = parts.port or {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}.get(parts.scheme, default_port)
        except ValueError:
            return None
        if parts.hostname:
            host = parts.hostname
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return None


async def service_discovery(session: AsyncSession, *, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Prometheus HTTP SD target groups, one per district: host:port only, never a credential."""
    where, params = await camera_filters(session, filters)
    where.append("h.status <> 'maintenance'")
    sql = f"""
        SELECT h.district, host(c.ip) AS ip, c.stream_url
        FROM camera_health h JOIN camera c ON c.id = h.camera_id
        WHERE {" AND ".join(where)}
        ORDER BY h.district, h.code
    """
    rows = (await session.execute(text(sql), params)).all()
    default_port = get_health_settings().sd_default_port
    groups: dict[str, list[str]] = {}
    for r in rows:
        target = _probe_target(r.ip, r.stream_url, default_port)
        if target:
            groups.setdefault(r.district, [])
            if target not in groups[r.district]:
                groups[r.district].append(target)
    return [
        {"targets": targets, "labels": {"district": district, "__meta_citycam_district": district}}
        for district, targets in groups.items()
    ]
