"""The heartbeat rules, validate -> row: authentication, kind and lifecycle, media type, body, rate
limit, then the row handed to a Backend, for the single and the batch endpoint alike.

`process_single` / `process_batch` run against a Backend: the running service's IngestRuntime
(in-process token cache and group-commit writer; front.py) or, when no runtime runs, a SessionBackend
on the request's own session (router.py, the fallback). Both return the response body or raise Reject.
"""

import hashlib
import math
import time
import uuid
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Protocol, TypeVar

import msgspec

from services.ingest import metrics
from services.ingest.cache import MISSING, Cached
from services.ingest.errors import (
    NO_TOKEN,
    DeviceGone,
    Reject,
    Unavailable,
    Unstorable,
    invalid,
    unauthorized,
    unavailable,
)
from services.ingest.rate_limit import RateLimiter
from services.ingest.schemas import (
    BatchEnvelope,
    BatchIn,
    BatchItemResult,
    BatchResult,
    HeartbeatAccepted,
    HeartbeatIn,
    batch_decoder,
    batch_envelope_decoder,
    batch_item_decoder,
    encoder,
    heartbeat_decoder,
)
from services.ingest.service import Device, GatewayBeat, GatewayCamera, HeartbeatRow
from services.ingest.settings import IngestSettings
from shared.models import HEARTBEAT_METRICS

T = TypeVar("T")


class Backend(Protocol):
    """Where devices are looked up and heartbeats stored."""

    retry_after_s: int

    def cached(self, token_hash: str) -> Cached: ...

    async def device(self, token_hash: str) -> Device | None: ...

    async def cameras_of(self, gateway_id: uuid.UUID) -> dict[str, GatewayCamera]: ...

    async def store(self, rows: list[HeartbeatRow], gateway: GatewayBeat | None) -> None: ...


def _validation_errors(exc: msgspec.ValidationError, prefix: tuple[Any, ...] = ()) -> tuple[str, list[dict[str, Any]]]:
    message = str(exc)
    loc: list[Any] = list(prefix)
    text, sep, where = message.rpartition(" - at `$")
    if sep:
        message = text
        for part in where.rstrip("`").replace("]", "").replace("[", ".").split("."):
            if part:
                loc.append(int(part) if part.isdigit() else part)
    elif message.startswith("Object contains unknown field `"):
        loc.append(message.split("`")[1])
    if "unknown field" in message:
        message = "unknown field"
    detail = f"{'.'.join(str(p) for p in loc)}: {message}" if loc else message
    return detail, [{"loc": loc, "msg": message}]


def decode(decoder: msgspec.json.Decoder[T], body: bytes, prefix: tuple[Any, ...] = ()) -> T:
    """Decode and validate a JSON body; Reject (422, or 400 for bytes that are not UTF-8) otherwise."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        detail, errors = _validation_errors(exc, prefix)
        raise Reject(422, detail, "invalid", errors=errors) from None
    except msgspec.DecodeError as exc:
        msg = str(exc)
        errors = [{"loc": list(prefix), "msg": msg}]
        raise Reject(422, f"the body is not valid JSON: {msg}", "invalid", errors=errors) from None
    except UnicodeDecodeError:
        raise Reject(400, "the body is not valid UTF-8", "invalid") from None


def token_hash(authorization: bytes | None) -> str:
    """The SHA-256 of the bearer token, as device_credential stores it; Reject 401 without one."""
    if authorization is None or len(authorization) < 8 or authorization[:7].lower() != b"bearer ":
        raise unauthorized(NO_TOKEN)
    token = authorization[7:].strip()
    if not token or len(token) > 512:
        raise unauthorized(NO_TOKEN)
    return hashlib.sha256(token).hexdigest()


async def authenticate(backend: Backend, authorization: bytes | None) -> Device:
    """The device behind the request's token."""
    key = token_hash(authorization)
    device = backend.cached(key)
    if device is MISSING:
        try:
            device = await backend.device(key)
        except Unavailable as exc:
            raise unavailable(exc.detail, backend.retry_after_s) from None
    if device is None:
        raise unauthorized()
    return device


_CAMERA_ONLY = "a gateway token reports through POST /v1/heartbeats/batch"
_GATEWAY_ONLY = "batches are sent with a gateway token"


def _expect(device: Device, content_type: bytes | None, kind: str, other_kind: str) -> Device:
    """The device when it is a live one of the expected kind, sending JSON; Reject otherwise."""
    if device.kind != kind:
        raise Reject(403, other_kind, "forbidden")
    if device.lifecycle == "decommissioned":
        raise Reject(403, f"the {kind} is decommissioned", "forbidden")
    check_media_type(content_type)
    return device


def check_media_type(content_type: bytes | None) -> None:
    """JSON bodies only (a missing Content-Type is read as JSON: small devices often omit it)."""
    if content_type is None or content_type == b"application/json":
        return
    media = content_type.split(b";", 1)[0].strip().lower()
    if media != b"application/json" and not media.endswith(b"+json"):
        raise Reject(415, "the body must be application/json", "unsupported_media_type")


# One C call for every metric, in HEARTBEAT_METRICS order (there are several, so it returns a tuple).
_metrics_of = attrgetter(*HEARTBEAT_METRICS)


def heartbeat_row(camera_id: uuid.UUID, hb: HeartbeatIn, now: datetime, gateway_id: uuid.UUID | None) -> HeartbeatRow:
    """The row a valid heartbeat is stored as (and its clock skew observed)."""
    sent_at = hb.sent_at
    if sent_at is not None:
        skew = (now - sent_at).total_seconds()
        if skew < 0:
            metrics.bump(metrics.CLOCK_AHEAD)
            skew = -skew
        metrics.CLOCK_SKEW_OBS.observe(skew)
    values: tuple[object, ...] = _metrics_of(hb)
    return HeartbeatRow(camera_id, now, sent_at, gateway_id, values)


def _unstorable() -> Reject:
    return invalid("a value is out of range or not valid for its column", [])


async def process_single(
    backend: Backend,
    limiter: RateLimiter,
    authorization: bytes | None,
    content_type: bytes | None,
    body: bytes,
) -> bytes:
    """One camera heartbeat: the 202 body once it is committed; Reject otherwise."""
    device = _expect(await authenticate(backend, authorization), content_type, "camera", _CAMERA_ONLY)
    hb = decode(heartbeat_decoder, body or b"{}")
    wait = limiter.take(device.id, time.monotonic())
    if wait:
        raise Reject(
            429,
            f"more than {limiter.burst:g} heartbeats at once or {limiter.rate:g}/s sustained from this camera",
            "rate_limited",
            headers=[(b"retry-after", str(math.ceil(wait)).encode())],
        )
    now = datetime.now(UTC)
    try:
        await backend.store([heartbeat_row(device.id, hb, now, None)], None)
    except Unavailable as exc:
        limiter.refund(device.id)
        raise unavailable(exc.detail, backend.retry_after_s) from None
    except Unstorable:
        # The camera's own fault: its token stays spent.
        raise _unstorable() from None
    except DeviceGone:
        raise unauthorized() from None
    metrics.bump(metrics.ACCEPTED_SINGLE)
    return encoder.encode(HeartbeatAccepted(received_at=now))


def _camera_for(cameras: dict[str, GatewayCamera], ref: str) -> GatewayCamera | None:
    camera = cameras.get(ref)
    if camera is None and len(ref) >= 32:
        try:
            camera = cameras.get(str(uuid.UUID(ref)))
        except ValueError:
            return None
    return camera


async def process_batch(
    backend: Backend,
    limiter: RateLimiter,
    settings: IngestSettings,
    authorization: bytes | None,
    content_type: bytes | None,
    body: bytes,
) -> bytes:
    """A gateway's batch: per-item results in order once the accepted items are committed."""
    device = _expect(await authenticate(backend, authorization), content_type, "gateway", _GATEWAY_ONLY)
    envelope: BatchIn | BatchEnvelope
    try:
        # The usual batch is valid throughout: decode it in one pass. Only a batch with a bad item
        # is decoded again item by item, so that item alone is refused.
        envelope = batch_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        envelope = decode(batch_envelope_decoder, body)
    items = envelope.heartbeats
    if len(items) > settings.max_batch_items:
        raise invalid(f"at most {settings.max_batch_items} heartbeats per batch", ["heartbeats"])
    try:
        cameras = await backend.cameras_of(device.id)
    except Unavailable as exc:
        raise unavailable(exc.detail, backend.retry_after_s) from None
    now = datetime.now(UTC)
    mono = time.monotonic()
    results: list[BatchItemResult] = []
    rows: list[HeartbeatRow] = []
    rejected: dict[str, int] = {}
    for index in range(len(items)):
        raw = items[index]
        if isinstance(raw, msgspec.Raw):
            try:
                item = decode(batch_item_decoder, raw, ("heartbeats", index))
            except Reject as exc:
                results.append(BatchItemResult(camera=_raw_camera(raw), status=exc.status, detail=exc.detail))
                rejected[exc.reason] = rejected.get(exc.reason, 0) + 1
                continue
        else:
            item = raw
        camera = _camera_for(cameras, item.camera)
        if camera is None or camera.lifecycle == "decommissioned":
            why = "is not behind this gateway" if camera is None else "is decommissioned"
            results.append(BatchItemResult(camera=item.camera, status=403, detail=f"camera {item.camera!r} {why}"))
            rejected["forbidden"] = rejected.get("forbidden", 0) + 1
            continue
        wait = limiter.take(camera.id, mono)
        if wait:
            results.append(
                BatchItemResult(
                    camera=item.camera,
                    status=429,
                    detail=f"rate limit of this camera exceeded; retry after {math.ceil(wait)} s",
                )
            )
            rejected["rate_limited"] = rejected.get("rate_limited", 0) + 1
            continue
        results.append(BatchItemResult(camera=item.camera, status=202, received_at=now))
        rows.append(heartbeat_row(camera.id, item, now, device.id))
    try:
        await backend.store(rows, GatewayBeat(device.id, now, envelope.sent_at, len(rows)))
    except (Unavailable, DeviceGone) as exc:
        for row in rows:
            limiter.refund(row.camera_id)
        detail = exc.detail if isinstance(exc, Unavailable) else "a device changed"
        raise unavailable(detail, backend.retry_after_s) from None
    except Unstorable:
        raise _unstorable() from None
    if rows:
        metrics.bump(metrics.ACCEPTED_BATCH, len(rows))
    for reason, count in rejected.items():
        metrics.rejected("batch", reason, count)
    return encoder.encode(BatchResult(results=results))


def _raw_camera(raw: msgspec.Raw) -> str:
    """The camera an invalid item names, when that much can be read."""
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return ""
    camera = value.get("camera") if isinstance(value, dict) else None
    return camera[:64] if isinstance(camera, str) and "\x00" not in camera else ""
