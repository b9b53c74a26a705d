"""Pure-ASGI middleware: request ids, access logs and metrics, and the hostile-input guard.

The guard runs before FastAPI sees a request so every body limit and encoding rule answers
with problem+json in one place, whatever the route.
"""

import itertools
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_JSON, PayloadTooLarge, internal_error_body, problem_body
from shared.logs import request_id_var, service_var
from shared.metrics import RequestMetrics

log = logging.getLogger("citycam.access")

# Body types passed through to the endpoint as a stream (bulk imports); everything else must be JSON.
STREAMED_TYPES = frozenset(
    {b"text/csv", b"application/x-ndjson", b"application/jsonl", b"application/jsonlines", b"application/x-jsonlines"}
)
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


class BadInput(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _too_large(limit: int) -> str:
    return f"the body is larger than {limit} bytes"


def check_length(declared: bytes | None, limit: int) -> None:
    """BadInput 413 when the declared Content-Length is over the limit, 400 when it is no number."""
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise BadInput(400, "invalid Content-Length") from None
    if size > limit:
        raise BadInput(413, _too_large(limit))


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when the client went away; BadInput 413 past the limit."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        # The usual small body comes in one message: no list, no join.
        if len(body) > limit:
            raise BadInput(413, _too_large(limit))
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
            raise BadInput(413, _too_large(limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _reject_constant(token: str) -> Any:
    raise BadInput(422, f"{token} is not a valid JSON number")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise BadInput(422, f"number {token[:40]} is out of range")
    return value


def check_json(body: bytes, max_depth: int) -> None:
    """Raise BadInput unless body is UTF-8 JSON with finite numbers, no NUL and bounded depth."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(400, f"the body is not valid UTF-8 (byte {exc.start})") from None
    if "\x00" in text or _NUL_ESCAPE.search(body):
        raise BadInput(422, "NUL characters are not allowed")
    depth = 0
    deepest = 0
    in_string = False
    escaped = False
    # A cheap scan for nesting depth, so a deeply nested body is refused before the parser recurses.
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    raise BadInput(422, f"JSON nested deeper than {max_depth} levels")
        elif ch in "]}":
            depth -= 1
    try:
        json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except BadInput:
        raise
    except ValueError as exc:
        # Also covers integers longer than Python's int-string limit.
        raise BadInput(400, f"the body is not valid JSON: {str(exc)[:120]}") from None
    except RecursionError:
        raise BadInput(422, "JSON nested too deeply") from None


_RID_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
_RID_PREFIX = uuid.uuid4().hex[:16]
_rid_counter = itertools.count(1)


def request_id(incoming: bytes | None) -> bytes:
    """The request's id: the client's X-Request-ID when it is 1-128 of [A-Za-z0-9._:-], else a new one.

    A new id is unique per process without a syscall per request (uuid4 reads the OS random source):
    a random per-process prefix and a counter, 32 hex digits like a uuid4's."""
    if incoming is not None and 0 < len(incoming) <= 128 and not incoming.translate(None, _RID_CHARS):
        return incoming
    return f"{_RID_PREFIX}{next(_rid_counter):016x}".encode()


def response_messages(status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]) -> tuple[Message, Message]:
    """A whole response as its two ASGI messages, with its Content-Length (a plain function, not a
    coroutine: the fast path sends them itself and saves an await)."""
    return (
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        },
        {"type": "http.response.body", "body": body},
    )


async def send_response(send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]) -> None:
    """Send a whole response (response_messages)."""
    start, rest = response_messages(status, body, headers)
    await send(start)
    await send(rest)


PROBLEM_HEADERS = ((b"content-type", PROBLEM_JSON.encode()),)


def log_access(method: str, route: str, status: int, elapsed_s: float) -> None:
    """The access log line of one request (the request id comes from the logging context)."""
    log.info(
        "%s %s %s",
        method,
        route,
        status,
        extra={"status": status, "duration_ms": round(elapsed_s * 1000, 2), "route": route},
    )


def log_unhandled(route: str) -> None:
    """Log the exception being handled, with its trace, in the request's context."""
    log.exception("unhandled error on %s", route)


class RequestContextMiddleware:
    """X-Request-ID in and out, one access log line and the request metrics per request."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        self.metrics = RequestMetrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid_bytes = request_id(_header(scope, b"x-request-id"))
        rid = rid_bytes.decode("latin-1")
        token = request_id_var.set(rid)
        service_token = service_var.set(self.service)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status_holder = [500]
        response_started = [False]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_started[0] = True
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid_bytes))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here, inside the request's context, so the line carries the request id the
            # client got back (Starlette's outer error middleware would log it without one).
            log_unhandled(scope.get("path", ""))
            if response_started[0]:
                raise  # headers are out; the server can only drop the connection
            await send_response(send_with_id, 500, internal_error_body(), PROBLEM_HEADERS)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.record(method, template, status_holder[0], elapsed)
            if template not in ("/healthz", "/metrics"):
                log_access(method, template, status_holder[0], elapsed)
            request_id_var.reset(token)
            service_var.reset(service_token)


class InputGuardMiddleware:
    """Body size limit, strict JSON (UTF-8, finite numbers, no NUL, bounded depth) and NUL-free URLs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_json_depth: int,
        path_limits: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        # (path prefix, limit) pairs for routes that take larger bodies, such as bulk imports.
        self.path_limits = tuple(path_limits)

    def limit_for(self, path: str) -> int:
        """The body limit for a request path."""
        for prefix, limit in self.path_limits:
            if path.startswith(prefix):
                return limit
        return self.max_body_bytes

    async def _reject(self, send: Send, status: int, detail: str) -> None:
        await send_response(send, status, json.dumps(problem_body(status, detail)).encode(), PROBLEM_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_target = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string") or b"")
        if b"%00" in raw_target or b"\x00" in raw_target:
            await self._reject(send, 400, "NUL characters are not allowed in the URL")
            return
        try:
            scope_path = scope.get("path", "")
            scope_path.encode("utf-8")
        except UnicodeEncodeError:
            await self._reject(send, 400, "the URL is not valid UTF-8")
            return
        declared_length = _header(scope, b"content-length")
        if declared_length in (None, b"0") and _header(scope, b"transfer-encoding") is None:
            # No body at all (GETs, DELETEs, POST /rotate-token): nothing to check.
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        try:
            check_length(declared_length, limit)
        except BadInput as exc:
            await self._reject(send, exc.status, exc.detail)
            return
        content_type = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        is_json = content_type == b"application/json" or content_type.endswith(b"+json")
        if not is_json and content_type not in STREAMED_TYPES:
            await self._reject(
                send,
                415,
                f"Content-Type {content_type.decode('latin-1') or '(none)'} is not accepted; send application/json"
                " (or text/csv / application/x-ndjson where an endpoint says so)",
            )
            return
        if not is_json:
            # Streaming bodies (CSV imports) keep streaming; only their size is enforced here.
            await self.app(scope, self._limited(receive, limit), send)
            return
        try:
            body = await read_body(receive, limit)
        except BadInput as exc:
            await self._reject(send, exc.status, exc.detail)
            return
        if body is None:
            return
        if body:
            try:
                check_json(body, self.max_json_depth)
            except BadInput as exc:
                await self._reject(send, exc.status, exc.detail)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(_too_large(limit))
            return message

        return limited
