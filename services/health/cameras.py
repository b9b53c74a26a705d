"""Cameras with their verdicts: the filters, the worst-first list, one camera's detail, the map and
Prometheus service discovery."""

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health import events, refs
from services.health.schemas import CameraHealthDetail, CameraHealthRead, HeartbeatRead
from services.health.service import current_meta
from services.health.settings import get_health_settings
from shared.errors import BadRequest, NotFound
from shared.models import STATUS_RANKS, CameraState
from shared.pagination import decode_cursor, encode_cursor


async def camera_filters(session: AsyncSession, filters: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on camera_health h (and camera c) for the list, map and SD filters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    statuses = refs.parse_statuses(filters.get("status"))
    if statuses:
        where.append("h.rank = ANY(:ranks)")
        params["ranks"] = sorted({STATUS_RANKS[s] for s in statuses})
    for name in ("district", "ward", "vendor", "model", "kind", "owner"):
        value = filters.get(name)
        if value is not None:
            where.append(f"h.{name} = :{name}")
            params[name] = value
    if filters.get("tag") is not None:
        where.append("h.tags @> :tags")
        params["tags"] = [filters["tag"]]
    if filters.get("gateway") is not None:
        gateway = await refs.gateway_id(session, filters["gateway"])
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


async def camera_detail(session: AsyncSession, *, ref: str, transitions: int) -> CameraHealthDetail:
    """One camera's verdict, its newest heartbeat and its recent transitions."""
    camera = await refs.find_camera(session, ref)
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
    recent = await events.recent_of_camera(session, camera_id=camera.id, limit=transitions)
    return CameraHealthDetail(
        **base.model_dump(),
        as_of=meta.as_of if meta else None,
        last_heartbeat=heartbeat,
        recent_transitions=recent,
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
