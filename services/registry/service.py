"""Registry logic and SQL: cameras, areas and API keys."""

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AreaRead,
    CameraCreate,
    CameraRead,
)
from shared.auth import Principal
from shared.errors import BadRequest, Conflict, NotFound, ValidationFailed
from shared.models import ApiKey, Area, Camera, CameraChange, DeviceCredential, Gateway
from shared.pagination import decode_cursor, encode_cursor
from shared.tokens import hash_secret, issue_api_key, issue_device_token

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
MASK = "***"


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
    """422 unless district is a known district and ward (if any) a known ward."""
    codes = [district] if ward is None else [district, ward]
    found = {row.code: row for row in (await session.execute(select(Area).where(Area.code.in_(codes)))).scalars()}
    errors: list[dict[str, Any]] = []
    if district not in found:
        errors.append({"loc": ["district"], "msg": f"unknown area code {district!r}"})
    if ward is not None and ward not in found:
        errors.append({"loc": ["ward"], "msg": f"unknown area code {ward!r}"})
    if errors:
        raise ValidationFailed(str(errors[0]["msg"]), errors=errors)


async def record_change(
    session: AsyncSession,
    *,
    principal: Principal,
    request_id: str | None,
    action: str,
    changes: dict[str, Any],
    camera_id: uuid.UUID | None = None,
    gateway_id: uuid.UUID | None = None,
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
        )
    )


def _audit_value(field: str, value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list)):
        return value
    return str(value)


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
    if data.gateway_id is not None and await session.get(Gateway, data.gateway_id) is None:
        raise ValidationFailed(
            f"unknown gateway {data.gateway_id}",
            errors=[{"loc": ["gateway_id"], "msg": "unknown gateway"}],
        )
    if await session.scalar(select(Camera.id).where(Camera.code == data.code)) is not None:
        raise Conflict(f"a camera with code {data.code!r} already exists")
    values = data.model_dump()
    stream_url, credentials_hash = (None, None)
    if data.stream_url is not None:
        stream_url, credentials_hash = split_stream_url(data.stream_url)
        if credentials_hash == MASK:
            credentials_hash = None
    values["stream_url"] = stream_url
    values["ip"] = str(data.ip) if data.ip is not None else None
    camera = Camera(**values, stream_credentials_hash=credentials_hash)
    session.add(camera)
    await session.flush()
    issued = issue_device_token()
    session.add(DeviceCredential(token_hash=issued.hash, prefix=issued.prefix, camera_id=camera.id))
    read = camera_read(camera)
    await record_change(
        session,
        principal=principal,
        request_id=request_id,
        action="create",
        camera_id=camera.id,
        changes={
            field: {"from": None, "to": _audit_value(field, value)}
            for field, value in read.model_dump(exclude={"id", "created_at", "updated_at", "version"}).items()
            if value not in (None, [])
        },
    )
    await session.flush()
    await session.refresh(camera)
    return camera, issued.secret


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
