"""The heartbeat path: validation, auth, rate limit and commit, served by a raw ASGI front.

`process_single` / `process_batch` hold every rule of the two endpoints and run against a Backend:
the running service's in-process cache and group-commit writer, or (when no writer runs, as in
tests bound to one transaction) the request's own database session. `HeartbeatFront` answers the
two POST paths before FastAPI's routing, dependency injection and the shared middleware, doing the
same job as that middleware (X-Request-ID, problem+json, access log and HTTP metrics) in a few
microseconds; every other request goes down the normal stack untouched.
"""

import hashlib
import itertools
import logging
import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from starlette.types import Receive, Scope, Send

from services.ingest import metrics
from services.ingest.cache import MISSING
from services.ingest.schemas import (
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
from services.ingest.writer import DeviceGone, Unavailable
from shared.errors import problem_body
from shared.logs import request_id_var
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("citycam.access")

SINGLE_PATH = "/v1/heartbeats"
BATCH_PATH = "/v1/heartbeats/batch"

Headers = list[tuple[bytes, bytes]]


class Backend(Protocol):
    """Where devices are looked up and heartbeats stored."""

    def cached(self, token_hash: str) -> Any: ...

    async def device(self, token_hash: str) -> Device | None: ...

    async def cameras_of(self, gateway_id: uuid.UUID) -> dict[str, GatewayCamera]: ...

    async def store(self, rows: list[HeartbeatRow], gateway: GatewayBeat | None) -> None: ...


class Reject(Exception):
    """A refused request: its status, problem detail, metrics reason and extra headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        reason: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: Headers | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason
        self.errors = errors
        self.headers = headers or []

    def body(self) -> bytes:
        """The problem+json document."""
        return encoder.encode(problem_body(self.status, self.detail, errors=self.errors))


class RateLimiter:
    """A token bucket per camera: `rate` heartbeats per second sustained, `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[uuid.UUID, list[float]] = {}

    def take(self, key: uuid.UUID, now: float) -> float:
        """0 when a heartbeat may pass (and spend a token), else the seconds until one may."""
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def refund(self, key: uuid.UUID) -> None:
        """Give a token back (the heartbeat was not stored through no fault of the camera)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket[0] = min(self.burst, bucket[0] + 1.0)

    def prune(self, now: float) -> int:
        """Drop buckets that have refilled completely (they hold no state worth keeping)."""
        full_after = self.burst / self.rate
        stale = [key for key, (_, last) in self._buckets.items() if now - last >= full_after]
        for key in stale:
            del self._buckets[key]
        return len(stale)


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


def decode(decoder: msgspec.json.Decoder[Any], body: bytes, prefix: tuple[Any, ...] = ()) -> Any:
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


_UNKNOWN_TOKEN = "the device token is unknown or revoked"  # noqa: S105 - a message
_NO_TOKEN = "a device token is required: Authorization: Bearer <token>"  # noqa: S105 - a message
_WWW_AUTH: Headers = [(b"www-authenticate", b"Bearer")]


def token_hash(authorization: bytes | None) -> str:
    """The SHA-256 of the bearer token, as device_credential stores it; Reject 401 without one."""
    if authorization is None or len(authorization) < 8 or authorization[:7].lower() != b"bearer ":
        raise Reject(401, _NO_TOKEN, "unauthorized", headers=_WWW_AUTH)
    token = authorization[7:].strip()
    if not token or len(token) > 512:
        raise Reject(401, _NO_TOKEN, "unauthorized", headers=_WWW_AUTH)
    return hashlib.sha256(token).hexdigest()


async def authenticate(backend: Backend, authorization: bytes | None) -> Device:
    """The device behind the request's token."""
    key = token_hash(authorization)
    device = backend.cached(key)
    if device is MISSING:
        try:
            device = await backend.device(key)
        except Unavailable as exc:
            raise unavailable(exc.detail) from None
    if device is None:
        raise Reject(401, _UNKNOWN_TOKEN, "unauthorized", headers=_WWW_AUTH)
    return device


def unavailable(detail: str, retry_after_s: int = 1) -> Reject:
    """The 503 a client retries after Retry-After."""
    return Reject(
        503,
        f"{detail}; retry after {retry_after_s} s",
        "unavailable",
        headers=[(b"retry-after", str(retry_after_s).encode())],
    )


def check_media_type(content_type: bytes | None) -> None:
    """JSON bodies only (a missing Content-Type is read as JSON: small devices often omit it)."""
    if content_type is None or content_type == b"application/json":
        return
    media = content_type.split(b";", 1)[0].strip().lower()
    if media != b"application/json" and not media.endswith(b"+json"):
        raise Reject(415, "the body must be application/json", "unsupported_media_type")


def _row(camera_id: uuid.UUID, hb: HeartbeatIn, now: datetime, gateway_id: uuid.UUID | None) -> HeartbeatRow:
    sent_at = hb.sent_at
    if sent_at is not None:
        skew = (now - sent_at).total_seconds()
        if skew < 0:
            metrics.bump(metrics.CLOCK_AHEAD)
            skew = -skew
        metrics.CLOCK_SKEW_OBS.observe(skew)
    errors = hb.errors
    return HeartbeatRow(
        camera_id,
        now,
        sent_at,
        hb.uptime_s,
        hb.fps,
        hb.bitrate_kbps,
        hb.packet_loss_pct,
        hb.temperature_c,
        hb.storage_free_pct,
        hb.firmware,
        ",".join(errors) if errors is not None else None,
        gateway_id,
    )


async def process_single(
    backend: Backend,
    limiter: RateLimiter,
    authorization: bytes | None,
    content_type: bytes | None,
    body: bytes,
) -> bytes:
    """One camera heartbeat: the 202 body once it is committed; Reject otherwise."""
    device = await authenticate(backend, authorization)
    if device.kind != "camera":
        raise Reject(403, "a gateway token reports through POST /v1/heartbeats/batch", "forbidden")
    if device.lifecycle == "decommissioned":
        raise Reject(403, "the camera is decommissioned", "forbidden")
    check_media_type(content_type)
    hb: HeartbeatIn = decode(heartbeat_decoder, body or b"{}")
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
        await backend.store([_row(device.id, hb, now, None)], None)
    except Unavailable as exc:
        limiter.refund(device.id)
        raise unavailable(exc.detail) from None
    except DeviceGone:
        raise Reject(401, _UNKNOWN_TOKEN, "unauthorized", headers=_WWW_AUTH) from None
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
    device = await authenticate(backend, authorization)
    if device.kind != "gateway":
        raise Reject(403, "batches are sent with a gateway token", "forbidden")
    if device.lifecycle == "decommissioned":
        raise Reject(403, "the gateway is decommissioned", "forbidden")
    check_media_type(content_type)
    items: list[Any]
    try:
        # The usual batch is valid throughout: decode it in one pass. Only a batch with a bad item
        # is decoded again item by item, so that item alone is refused.
        envelope: Any = batch_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        envelope = decode(batch_envelope_decoder, body)
    items = envelope.heartbeats
    if len(items) > settings.max_batch_items:
        detail = f"at most {settings.max_batch_items} heartbeats per batch"
        raise Reject(422, f"heartbeats: {detail}", "invalid", errors=[{"loc": ["heartbeats"], "msg": detail}])
    try:
        cameras = await backend.cameras_of(device.id)
    except Unavailable as exc:
        raise unavailable(exc.detail) from None
    now = datetime.now(UTC)
    mono = time.monotonic()
    results: list[BatchItemResult] = []
    rows: list[HeartbeatRow] = []
    stored_at: list[int] = []
    rejected: dict[str, int] = {}
    for index, raw in enumerate(items):
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
        stored_at.append(len(results))
        results.append(BatchItemResult(camera=item.camera, status=202, received_at=now))
        rows.append(_row(camera.id, item, now, device.id))
    try:
        await backend.store(rows, GatewayBeat(device.id, now, envelope.sent_at, len(rows)))
    except (Unavailable, DeviceGone) as exc:
        for row in rows:
            limiter.refund(row.camera_id)
        raise unavailable(exc.detail if isinstance(exc, Unavailable) else "a device changed") from None
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


# ---- the raw ASGI front -----------------------------------------------------------------------

_RID_PREFIX = uuid.uuid4().hex[:16]
_rid_counter = itertools.count(1)
_RID_OK = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
_JSON: Headers = [(b"content-type", b"application/json")]
_PROBLEM: Headers = [(b"content-type", b"application/problem+json")]


def _request_id(incoming: bytes | None) -> bytes:
    if incoming is not None and 0 < len(incoming) <= 128 and all(c in _RID_OK for c in incoming):
        return incoming
    # Unique per process without a syscall per request (uuid4 reads the OS random source).
    return f"{_RID_PREFIX}{next(_rid_counter):016x}".encode()


class _HttpMetrics:
    """Pre-resolved children of the shared HTTP metrics for the two paths."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._requests: dict[tuple[str, int], Any] = {}
        self.latency = {
            path: metrics.Observations(HTTP_LATENCY.labels(service, "POST", path)) for path in (SINGLE_PATH, BATCH_PATH)
        }

    def count(self, path: str, status: int) -> None:
        child = self._requests.get((path, status))
        if child is None:
            child = self._requests[(path, status)] = HTTP_REQUESTS.labels(self.service, "POST", path, str(status))
        metrics.bump(child)


class HeartbeatFront:
    """Serves POST /v1/heartbeats and /v1/heartbeats/batch on the running runtime, doing the work
    of the shared middleware (X-Request-ID, problem+json, access log of errors, HTTP metrics)."""

    def __init__(self, service: str = "ingest") -> None:
        self.http = _HttpMetrics(service)

    async def serve(self, runtime: Any, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request on a heartbeat path."""
        started = time.perf_counter()
        path = scope["path"]
        authorization = content_type = incoming_rid = declared = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value
            elif key == b"content-type":
                content_type = value
            elif key == b"content-length":
                declared = value
            elif key == b"x-request-id":
                incoming_rid = value
        rid = _request_id(incoming_rid)
        single = path == SINGLE_PATH
        settings: IngestSettings = runtime.settings
        limit = settings.max_single_body_bytes if single else settings.max_batch_body_bytes
        try:
            body = await _read_body(receive, declared, limit)
            if body is None:
                return  # the client went away
            if single:
                payload = await process_single(runtime, runtime.limiter, authorization, content_type, body)
                status = 202
            else:
                payload = await process_batch(runtime, runtime.limiter, settings, authorization, content_type, body)
                status = 200
            headers = _JSON
        except Reject as exc:
            status = exc.status
            payload = exc.body()
            headers = _PROBLEM + exc.headers
            metrics.rejected("single" if single else "batch", exc.reason)
        except Exception:
            token = request_id_var.set(rid.decode())
            log.exception("unhandled error on %s", path)
            request_id_var.reset(token)
            status = 500
            payload = encoder.encode(
                problem_body(500, "an unexpected error occurred; it has been logged with the request id")
            )
            headers = _PROBLEM
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(payload)).encode()), (b"x-request-id", rid)],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        elapsed = time.perf_counter() - started
        self.http.count(path, status)
        self.http.latency[path].observe(elapsed)
        if status >= 400:
            token = request_id_var.set(rid.decode())
            log.info(
                "POST %s %s",
                path,
                status,
                extra={"status": status, "duration_ms": round(elapsed * 1000, 2), "route": path},
            )
            request_id_var.reset(token)


async def _read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes | None:
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise Reject(400, "invalid Content-Length", "invalid") from None
        if size > limit:
            raise Reject(413, f"the body is larger than {limit} bytes", "too_large")
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise Reject(413, f"the body is larger than {limit} bytes", "too_large")
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Reject(413, f"the body is larger than {limit} bytes", "too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
