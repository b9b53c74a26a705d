"""Registry logic and SQL: cameras, areas and API keys."""

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import ColumnElement, false, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from services.registry.schemas import (
    CAMERA_REQUIRED,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AreaRead,
    CameraCreate,
    CameraRead,
    CameraUpdate,
    ChangeRead,
    DeviceTokenIssued,
)
from shared.auth import Principal
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from shared.models import ApiKey, Area, Camera, CameraChange, DeviceCredential, Gateway
from shared.models.camera import search_fold
from shared.notify import DEVICE_CHANGED
from shared.pagination import decode_cursor, encode_cursor
from shared.tokens import IssuedSecret, hash_secret, issue_api_key, issue_device_token

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
MASK = "***"
# The audited (and exported) fields, in the API's order; id and the timestamps are the database's.
CAMERA_FIELDS = tuple(
    name for name in CameraRead.model_fields if name not in ("id", "created_at", "updated_at", "version")
)


def split_stream_url(raw: str) -> tuple[str, str | None]:
    """The URL without user:password, and the hash of the credentials (None when there were none)."""
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationFailed(
            "stream_url is not a valid URL",
            errors=[{"loc": ["stream_url"], "msg": "not a valid URL"}],
        ) from None
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise ValidationFailed(
            "stream_url scheme must be rtsp, rtsps, http or https",
            errors=[
                {
                    "loc": ["stream_url"],
                    "msg": "scheme must be rtsp, rtsps, http or https",
                }
            ],
        )
    if not host:
        raise ValidationFailed(
            "stream_url has no host",
            errors=[{"loc": ["stream_url"], "msg": "the URL must name a host"}],
        )
    netloc = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    credentials = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    if credentials == MASK:
        # A masked URL sent back (export -> import) means "keep the stored credentials".
        return clean, MASK
    return clean, hash_secret(credentials) if credentials else None


def masked_stream_url(camera: Camera) -> str | None:
    """The stream URL as clients see it: credentials, if any, shown as ***."""
    if camera.stream_url is None or camera.stream_credentials_hash is None:
        return camera.stream_url
    scheme, sep, rest = camera.stream_url.partition("://")
    return f"{scheme}{sep}{MASK}@{rest}"


def camera_read(camera: Camera) -> CameraRead:
    """A camera as the API returns it."""
    return CameraRead(
        id=camera.id,
        code=camera.code,
        name=camera.name,
        latitude=camera.latitude,
        longitude=camera.longitude,
        address=camera.address,
        district=camera.district,
        ward=camera.ward,
        road=camera.road,
        direction=camera.direction,
        kind=camera.kind,
        vendor=camera.vendor,
        model=camera.model,
        firmware=camera.firmware,
        ip=str(camera.ip) if camera.ip is not None else None,
        stream_url=masked_stream_url(camera),
        lifecycle=camera.lifecycle,
        heartbeat_interval_s=camera.heartbeat_interval_s,
        tags=list(camera.tags or []),
        owner=camera.owner,
        gateway_id=camera.gateway_id,
        installed_at=camera.installed_at,
        created_at=camera.created_at,
        updated_at=camera.updated_at,
        version=camera.version,
    )


def camera_etag(camera: Camera) -> str:
    """A strong ETag that changes with every version of the camera."""
    return f'"{camera.id.hex}-{camera.version}"'


async def get_camera(session: AsyncSession, *, ref: str, for_update: bool = False) -> Camera:
    """The camera with this id or code; 404 when there is none."""
    try:
        condition = Camera.id == uuid.UUID(ref)
    except ValueError:
        condition = Camera.code == ref
    stmt = select(Camera).where(condition)
    if for_update:
        stmt = stmt.with_for_update()
    camera = await session.scalar(stmt)
    if camera is None:
        raise NotFound(f"no camera with id or code {ref!r}")
    return camera


async def check_location(session: AsyncSession, *, district: str, ward: str | None) -> None:
    """422 unless district is a known district and ward (if any) a known ward of it."""
    codes = [district] if ward is None else [district, ward]
    found = {row.code: row for row in (await session.execute(select(Area).where(Area.code.in_(codes)))).scalars()}
    parent = found[ward].parent if ward is not None and ward in found else None
    if parent is not None and parent not in found:
        parent_area = await session.get(Area, parent)
        if parent_area is not None:
            found[parent] = parent_area
    errors = location_errors(found, district=district, ward=ward)
    if errors:
        raise ValidationFailed(str(errors[0]["msg"]), errors=errors)


def location_errors(areas: Mapping[str, Area], *, district: str, ward: str | None) -> list[dict[str, Any]]:
    """What is wrong with a district/ward pair, given the areas by code."""
    errors: list[dict[str, Any]] = []
    area = areas.get(district)
    if area is None:
        errors.append({"loc": ["district"], "msg": f"unknown area code {district!r}"})
    elif area.level != "district":
        errors.append({"loc": ["district"], "msg": f"{district!r} is a {area.level}, not a district"})
    if ward is not None:
        ward_area = areas.get(ward)
        if ward_area is None:
            errors.append({"loc": ["ward"], "msg": f"unknown area code {ward!r}"})
        elif ward_area.level != "ward":
            errors.append({"loc": ["ward"], "msg": f"{ward!r} is a {ward_area.level}, not a ward"})
        elif (
            ward_area.parent is not None
            and ward_area.parent in areas
            and areas[ward_area.parent].level == "district"
            and ward_area.parent != district
        ):
            # Wards of the 2025 set hang off the city, so only a ward filed under a district is checked.
            errors.append({"loc": ["ward"], "msg": f"ward {ward!r} is in district {ward_area.parent!r}"})
    return errors


async def check_gateway(session: AsyncSession, gateway_id: uuid.UUID | None) -> None:
    """422 unless the gateway exists and is not decommissioned."""
    if gateway_id is None:
        return
    gateway = await session.get(Gateway, gateway_id)
    if gateway is None or gateway.lifecycle == "decommissioned":
        raise ValidationFailed(
            f"unknown or decommissioned gateway {gateway_id}",
            errors=[{"loc": ["gateway_id"], "msg": "unknown or decommissioned gateway"}],
        )


async def notify_device_changed(session: AsyncSession, *, kind: str, ids: Sequence[uuid.UUID]) -> None:
    """Tell other services (ingest's token cache) that these devices changed; delivered on commit."""
    if not ids:
        return
    payloads = [json.dumps({"kind": kind, "id": str(i)}) for i in ids]
    await session.execute(
        text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
        {"channel": DEVICE_CHANGED, "payloads": payloads},
    )


async def record_change(
    session: AsyncSession,
    *,
    principal: Principal,
    request_id: str | None,
    action: str,
    changes: dict[str, Any],
    camera_id: uuid.UUID | None = None,
    gateway_id: uuid.UUID | None = None,
    unconditional: bool = False,
) -> None:
    """Append one audit record: who, which request, and each field from -> to."""
    session.add(
        CameraChange(
            camera_id=camera_id,
            gateway_id=gateway_id,
            action=action,
            actor=principal.name,
            api_key_id=principal.key_id,
            request_id=request_id,
            changes=changes,
            unconditional=unconditional,
        )
    )


def audit_value(value: Any) -> Any:
    """A JSON-safe, comparable form of a field value (timestamps in UTC)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (list, tuple)):
        return [audit_value(v) for v in value]
    return str(value)


def camera_state(camera: Camera) -> dict[str, Any]:
    """The audited fields of a camera, stream credentials masked."""
    state = {field: audit_value(getattr(camera, field)) for field in CAMERA_FIELDS}
    state["stream_url"] = masked_stream_url(camera)
    return state


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{"field": {"from", "to"}} for every field whose value differs."""
    return {k: {"from": before.get(k), "to": after.get(k)} for k in after if before.get(k) != after.get(k)}


def created(state: Mapping[str, Any]) -> dict[str, Any]:
    """The audited changes of a new camera or gateway: each field that has a value, from nothing."""
    return diff({}, {k: v for k, v in state.items() if v not in (None, [])})


def parse_if_match(header: str | None) -> list[str] | None:
    """The entity tags of an If-Match header (None when absent).

    If-Match uses the strong comparison (RFC 9110 13.1.1): a weak tag never matches, so it is kept
    with its W/ prefix and can never equal the (strong) current ETag.
    """
    if header is None:
        return None
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def check_if_match(if_match: list[str] | None, etag: str) -> None:
    """412 unless the If-Match tags include the current ETag (or *)."""
    if if_match is not None and "*" not in if_match and etag not in if_match:
        raise PreconditionFailed(
            "the camera or gateway changed since it was read (stale If-Match); GET it again and retry",
            headers={"ETag": etag},
        )


def _stream_values(raw: str | None, current_hash: str | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    clean, credentials = split_stream_url(raw)
    if credentials == MASK:
        return clean, current_hash
    return clean, credentials


def check_operator_change(principal: Principal, before: str, fields: Mapping[str, Any]) -> None:
    """An operator only moves a camera into or out of maintenance."""
    if principal.role != "operator":
        return
    if set(fields) - {"lifecycle"}:
        raise Forbidden("an operator key may only change lifecycle, into or out of maintenance")
    after = fields.get("lifecycle", before)
    if after != before and (
        "maintenance" not in (before, after) or "decommissioned" in (before, after) or after is None
    ):
        raise Forbidden("an operator key may only move a camera into or out of maintenance")


def issue_token(
    session: AsyncSession, *, camera_id: uuid.UUID | None = None, gateway_id: uuid.UUID | None = None
) -> IssuedSecret:
    """Issue a device token for one camera or gateway; only its hash is stored, the secret is returned once."""
    issued = issue_device_token()
    session.add(
        DeviceCredential(token_hash=issued.hash, prefix=issued.prefix, camera_id=camera_id, gateway_id=gateway_id)
    )
    return issued


async def revoke_tokens(
    session: AsyncSession, *, camera_ids: Sequence[uuid.UUID] = (), gateway_id: uuid.UUID | None = None
) -> None:
    """Revoke the live device tokens of these cameras or this gateway."""
    stmt = update(DeviceCredential).where(DeviceCredential.revoked_at.is_(None)).values(revoked_at=func.now())
    if gateway_id is not None:
        await session.execute(stmt.where(DeviceCredential.gateway_id == gateway_id))
    if camera_ids:
        await session.execute(stmt.where(DeviceCredential.camera_id.in_(list(camera_ids))))


async def apply_camera_update(
    session: AsyncSession,
    *,
    camera: Camera,
    fields: Mapping[str, Any],
    principal: Principal,
    request_id: str | None,
    action: str = "update",
    unconditional: bool = False,
    areas: Mapping[str, Area] | None = None,
) -> dict[str, Any]:
    """Apply validated field values to a locked camera: scope, location, lifecycle and audit; the diff."""
    principal.require_district(camera.district)
    check_operator_change(principal, camera.lifecycle, fields)
    for name in CAMERA_REQUIRED & fields.keys():
        if fields[name] is None:
            raise ValidationFailed(f"{name} cannot be null", errors=[{"loc": [name], "msg": "cannot be null"}])
    district = fields.get("district", camera.district)
    ward = fields.get("ward", camera.ward)
    if district != camera.district:
        principal.require_district(district)
    if "district" in fields or "ward" in fields:
        if areas is None:
            await check_location(session, district=district, ward=ward)
        else:
            errors = location_errors(areas, district=district, ward=ward)
            if errors:
                raise ValidationFailed(str(errors[0]["msg"]), errors=errors)
    lifecycle = fields.get("lifecycle", camera.lifecycle)
    if camera.lifecycle == "decommissioned" and lifecycle != "decommissioned":
        raise Conflict("a decommissioned camera cannot come back; register it again under a new code")
    if "gateway_id" in fields and fields["gateway_id"] != camera.gateway_id:
        await check_gateway(session, fields["gateway_id"])
    if "code" in fields and fields["code"] != camera.code:
        taken = await session.scalar(select(Camera.id).where(Camera.code == fields["code"]))
        if taken is not None:
            raise Conflict(f"a camera with code {fields['code']!r} already exists")
    before = camera_state(camera)
    before_hash = camera.stream_credentials_hash
    for name, value in fields.items():
        if name == "stream_url":
            camera.stream_url, camera.stream_credentials_hash = _stream_values(value, camera.stream_credentials_hash)
        elif name == "ip":
            camera.ip = str(value) if value is not None else None
        else:
            setattr(camera, name, value)
    changes = diff(before, camera_state(camera))
    if camera.stream_credentials_hash != before_hash:
        changes["stream_credentials"] = {
            "from": MASK if before_hash else None,
            "to": MASK if camera.stream_credentials_hash else None,
        }
    if not changes:
        return changes
    camera.version += 1
    camera.updated_at = func.now()
    if lifecycle == "decommissioned" and "lifecycle" in changes:
        await revoke_tokens(session, camera_ids=[camera.id])
    await record_change(
        session,
        principal=principal,
        request_id=request_id,
        action=action,
        camera_id=camera.id,
        changes=changes,
        unconditional=unconditional,
    )
    await notify_device_changed(session, kind="camera", ids=[camera.id])
    return changes


async def update_camera(
    session: AsyncSession,
    *,
    ref: str,
    data: CameraUpdate,
    principal: Principal,
    request_id: str | None,
    if_match: list[str] | None,
) -> Camera:
    """PATCH: lock the row, check If-Match against its current version, apply and audit."""
    camera = await get_camera(session, ref=ref, for_update=True)
    check_if_match(if_match, camera_etag(camera))
    fields = {name: getattr(data, name) for name in data.model_fields_set}
    await apply_camera_update(
        session,
        camera=camera,
        fields=fields,
        principal=principal,
        request_id=request_id,
        unconditional=if_match is None,
    )
    await session.flush()
    await session.refresh(camera)
    return camera


async def decommission_camera(
    session: AsyncSession, *, ref: str, principal: Principal, request_id: str | None, if_match: list[str] | None
) -> None:
    """DELETE: the camera is kept with lifecycle decommissioned and its token revoked."""
    camera = await get_camera(session, ref=ref, for_update=True)
    check_if_match(if_match, camera_etag(camera))
    principal.require_district(camera.district)
    if camera.lifecycle == "decommissioned":
        return
    await apply_camera_update(
        session,
        camera=camera,
        fields={"lifecycle": "decommissioned"},
        principal=principal,
        request_id=request_id,
        action="decommission",
        unconditional=if_match is None,
    )
    await session.flush()


async def rotate_camera_token(
    session: AsyncSession, *, ref: str, principal: Principal, request_id: str | None
) -> DeviceTokenIssued:
    """Revoke the camera's token and issue a new one, in one transaction."""
    camera = await get_camera(session, ref=ref, for_update=True)
    principal.require_district(camera.district)
    if camera.lifecycle == "decommissioned":
        raise Conflict("a decommissioned camera gets no device token")
    await revoke_tokens(session, camera_ids=[camera.id])
    await session.flush()
    issued = issue_token(session, camera_id=camera.id)
    await record_change(
        session,
        principal=principal,
        request_id=request_id,
        action="rotate-token",
        camera_id=camera.id,
        changes={"device_token": {"from": MASK, "to": MASK}},
    )
    await notify_device_changed(session, kind="camera", ids=[camera.id])
    await session.flush()
    return DeviceTokenIssued(id=camera.id, code=camera.code, device_token=issued.secret, prefix=issued.prefix)


async def list_changes(
    session: AsyncSession,
    *,
    camera_id: uuid.UUID | None = None,
    gateway_id: uuid.UUID | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ChangeRead], str | None]:
    """A device's audit trail, newest first, one keyset page."""
    position = decode_cursor(cursor, keys=("id",))
    stmt = select(CameraChange).order_by(CameraChange.id.desc()).limit(limit + 1)
    if camera_id is not None:
        stmt = stmt.where(CameraChange.camera_id == camera_id)
    else:
        stmt = stmt.where(CameraChange.gateway_id == gateway_id)
    if position is not None:
        if not isinstance(position["id"], int) or isinstance(position["id"], bool):
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page")
        stmt = stmt.where(CameraChange.id < position["id"])
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return [ChangeRead.model_validate(r, from_attributes=True) for r in rows[:limit]], next_cursor


@dataclass(frozen=True)
class CameraFilters:
    """The list and export filters, combined with AND."""

    district: str | None = None
    ward: str | None = None
    lifecycle: str | None = None
    kind: str | None = None
    vendor: str | None = None
    model: str | None = None
    tag: str | None = None
    owner: str | None = None
    gateway_id: uuid.UUID | None = None
    q: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None


EARTH_RADIUS_M = 6371008.8
METRES_PER_DEGREE = 111_320.0


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_conditions(
    q: str, search_text: QueryableAttribute[str] | ColumnElement[str] = Camera.search_text
) -> list[ColumnElement[bool]]:
    """`q` as trigram-indexed LIKEs: every word must appear, in any order.

    A word of three letters or more may appear anywhere; a shorter one must be a whole word. search_text
    is framed by spaces with punctuation folded to spaces, so "% q1 %" carries the padded trigrams
    "  q", " q1" and "q1 ": every word feeds the index (a bare "%q1%" has no trigram at all), and short
    words that always follow longer ones ("vong xoay au co") narrow the rows to recheck.
    """
    words = search_fold(q).split()[:10]
    if not words:
        # Only punctuation: nothing can contain it once folded (a blank q is no filter at all).
        return [false()] if q.strip() else []
    return [
        search_text.like(f"%{_like_escape(word)}%" if len(word) >= 3 else f"% {_like_escape(word)} %", escape="\\")
        for word in words
    ]


def camera_conditions(filters: CameraFilters) -> list[ColumnElement[bool]]:
    """SQL conditions for every filter but the free text `q`; each one is served by an index."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (Camera.district, filters.district),
        (Camera.ward, filters.ward),
        (Camera.lifecycle, filters.lifecycle),
        (Camera.kind, filters.kind),
        (Camera.vendor, filters.vendor),
        (Camera.model, filters.model),
        (Camera.owner, filters.owner),
        (Camera.gateway_id, filters.gateway_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.tag is not None:
        conditions.append(Camera.tags.contains([filters.tag]))
    if filters.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        conditions += [Camera.latitude.between(min_lat, max_lat), Camera.longitude.between(min_lon, max_lon)]
    if filters.near is not None and filters.radius_m is not None:
        lat, lon = filters.near
        radius = filters.radius_m
        dlat = radius / METRES_PER_DEGREE
        dlon = radius / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
        conditions += [
            Camera.latitude.between(lat - dlat, lat + dlat),
            Camera.longitude.between(lon - dlon, lon + dlon),
        ]
        # Haversine for the exact circle, evaluated only on the rows inside the index-served box.
        hav = func.power(func.sin(func.radians(Camera.latitude - lat) / 2), 2) + func.cos(math.radians(lat)) * func.cos(
            func.radians(Camera.latitude)
        ) * func.power(func.sin(func.radians(Camera.longitude - lon) / 2), 2)
        conditions.append(2 * EARTH_RADIUS_M * func.asin(func.sqrt(func.least(hav, 1.0))) <= radius)
    return conditions


# A search first reads this many cameras in code order per row of the page (and at least
# SEARCH_WALK_MIN): about 1 ms, and enough to fill the page when at least one camera in 20 matches.
SEARCH_WALK_PER_ROW = 20
SEARCH_WALK_MIN = 2_000


async def custom_plans(session: AsyncSession) -> None:
    """Plan this transaction's queries for their actual values.

    asyncpg prepares statements, and after five runs Postgres may settle on a generic plan that
    assumes an average selectivity: a bbox covering the whole city then sorts every camera instead
    of walking the code index (measured: p99 1.4 s instead of under 10 ms on 110k cameras).
    """
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def camera_page(session: AsyncSession, *, filters: CameraFilters, limit: int, after: str | None) -> list[Camera]:
    """Up to `limit` cameras matching every filter, in code order after the code `after`.

    A free-text search has two ways to a page and the planner cannot tell which is cheap: its trigram
    estimates are rough, and matches cluster (a road lies in one or two districts, and a district's
    cameras sit together in the code index). Walking the code index is instant for common words and
    reads the whole city for a road at the far end of the alphabet (80-110 ms measured on 100k
    cameras); reading every match through the trigram index and sorting is 1-8 ms for a road and
    60-75 ms for a word in every address. So the walk is tried first, over a bounded stretch, and
    only a search it leaves short reads its matches through the trigram index.
    """
    await custom_plans(session)
    conditions = camera_conditions(filters)
    if after is not None:
        conditions.append(Camera.code > after)
    if not filters.q:
        stmt = select(Camera).where(*conditions).order_by(Camera.code).limit(limit)
        return list((await session.execute(stmt)).scalars())
    # The LIMIT fences the walk: the planner cannot fold the search into it and take another path.
    walked = (
        select(*Camera.__table__.c)
        .where(*conditions)
        .order_by(Camera.code)
        .limit(max(SEARCH_WALK_MIN, SEARCH_WALK_PER_ROW * limit))
        .subquery("walked")
    )
    walk = aliased(Camera, walked)
    stmt = select(walk).where(*search_conditions(filters.q, walk.search_text)).order_by(walk.code).limit(limit)
    cameras = list((await session.execute(stmt)).scalars())
    if len(cameras) == limit:
        return cameras
    # The rest of the transaction plans as usual: the switch is this one read's.
    await session.execute(text("SET LOCAL enable_indexscan = off"))
    stmt = select(Camera).where(*conditions, *search_conditions(filters.q)).order_by(Camera.code).limit(limit)
    cameras = list((await session.execute(stmt)).scalars())
    await session.execute(text("SET LOCAL enable_indexscan = on"))
    return cameras


def code_after(cursor: str | None) -> str | None:
    position = decode_cursor(cursor, keys=("code",))
    if position is None:
        return None
    if not isinstance(position["code"], str):
        raise BadRequest("the cursor is not valid; use next_cursor from a previous page")
    return position["code"]


async def list_cameras(
    session: AsyncSession, *, filters: CameraFilters, limit: int, cursor: str | None
) -> tuple[list[Camera], str | None]:
    """Cameras matching every filter, ordered by code, one keyset page."""
    rows = await camera_page(session, filters=filters, limit=limit + 1, after=code_after(cursor))
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def create_camera(
    session: AsyncSession,
    *,
    data: CameraCreate,
    principal: Principal,
    request_id: str | None,
) -> tuple[Camera, str]:
    """Register a camera with a fresh device token; 409 when the code is taken."""
    principal.require_district(data.district)
    await check_location(session, district=data.district, ward=data.ward)
    await check_gateway(session, data.gateway_id)
    if await session.scalar(select(Camera.id).where(Camera.code == data.code)) is not None:
        raise Conflict(f"a camera with code {data.code!r} already exists")
    camera = new_camera(data)
    session.add(camera)
    await session.flush()
    issued = issue_token(session, camera_id=camera.id)
    await record_change(
        session,
        principal=principal,
        request_id=request_id,
        action="create",
        camera_id=camera.id,
        changes=created(camera_state(camera)),
    )
    await session.flush()
    await session.refresh(camera)
    return camera, issued.secret


def new_camera_values(data: CameraCreate) -> dict[str, Any]:
    """The column values of a new camera from a validated body (stream credentials split off and hashed)."""
    values = data.model_dump()
    values["stream_url"], values["stream_credentials_hash"] = _stream_values(data.stream_url, None)
    values["ip"] = str(data.ip) if data.ip is not None else None
    values["id"] = uuid.uuid4()
    values["version"] = 1
    return values


def new_camera(data: CameraCreate) -> Camera:
    """A Camera row from a validated body."""
    return Camera(**new_camera_values(data))


def values_state(values: Mapping[str, Any]) -> dict[str, Any]:
    """The audited fields of a camera's column values (as camera_state, without an ORM object)."""
    state = {name: audit_value(values.get(name)) for name in CAMERA_FIELDS}
    if values.get("stream_url") is not None and values.get("stream_credentials_hash") is not None:
        scheme, sep, rest = str(values["stream_url"]).partition("://")
        state["stream_url"] = f"{scheme}{sep}{MASK}@{rest}"
    return state


async def list_areas(
    session: AsyncSession,
    *,
    level: str | None,
    parent: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AreaRead], str | None]:
    """Areas ordered by code, one keyset page."""
    position = decode_cursor(cursor, keys=("code",))
    stmt = select(Area).order_by(Area.code).limit(limit + 1)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if parent is not None:
        stmt = stmt.where(Area.parent == parent)
    if position is not None:
        stmt = stmt.where(Area.code > str(position["code"]))
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return [AreaRead.model_validate(row, from_attributes=True) for row in rows[:limit]], next_cursor


def api_key_read(key: ApiKey) -> ApiKeyRead:
    """An API key as the API returns it (never its hash)."""
    return ApiKeyRead.model_validate(key, from_attributes=True)


async def create_api_key(session: AsyncSession, *, data: ApiKeyCreate) -> ApiKeyCreated:
    """Issue a key; the secret is in the reply only."""
    if data.districts:
        known = set((await session.execute(select(Area.code).where(Area.code.in_(data.districts)))).scalars())
        unknown = [d for d in data.districts if d not in known]
        if unknown:
            raise ValidationFailed(
                f"unknown district {unknown[0]!r}",
                errors=[{"loc": ["districts"], "msg": f"unknown: {unknown}"}],
            )
    issued = issue_api_key()
    key = ApiKey(
        name=data.name,
        role=data.role,
        districts=sorted(set(data.districts)) if data.districts else None,
        prefix=issued.prefix,
        key_hash=issued.hash,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return ApiKeyCreated(**api_key_read(key).model_dump(), key=issued.secret)


async def list_api_keys(
    session: AsyncSession, *, include_revoked: bool, limit: int, cursor: str | None
) -> tuple[list[ApiKeyRead], str | None]:
    """API keys, oldest first, one keyset page."""
    position = decode_cursor(cursor, keys=("created_at", "id"))
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id).limit(limit + 1)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    if position is not None:
        try:
            after_id = uuid.UUID(str(position["id"]))
            after_at = datetime.fromisoformat(str(position["created_at"]))
        except ValueError:
            raise BadRequest("the cursor is not valid; use next_cursor from a previous page") from None
        stmt = stmt.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(after_at, after_id))
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"created_at": last.created_at.isoformat(), "id": str(last.id)})
    return [api_key_read(row) for row in rows[:limit]], next_cursor


async def get_api_key(session: AsyncSession, *, key_id: uuid.UUID) -> ApiKey:
    """One API key; 404 when unknown."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


async def revoke_api_key(session: AsyncSession, *, key_id: uuid.UUID, principal: Principal) -> None:
    """Revoke a key (kept for the audit trail); an admin cannot revoke the key it is using."""
    key = await get_api_key(session, key_id=key_id)
    if key.id == principal.key_id:
        raise Conflict("a key cannot revoke itself; use another admin key")
    if key.revoked_at is None:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=func.now()))
