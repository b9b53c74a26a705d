"""The raw ASGI front: answers POST /v1/heartbeats and /v1/heartbeats/batch on the running runtime
before FastAPI's routing, dependency injection and middleware stack, which cost more than the
heartbeat itself. It does that stack's job with the same shared functions (shared.middleware's
request_id, read limits, access log and response_messages, shared.errors' 500 problem, shared.metrics'
RequestMetrics), in a few microseconds: metrics are counted in process and published each second
(services/ingest/metrics.py), and only refusals are logged. Every other request goes down the
normal stack untouched; the heartbeat rules themselves are in heartbeats.py.
"""

import time

from starlette.types import Receive, Scope, Send

from services.ingest import metrics
from services.ingest.errors import Headers, Reject
from services.ingest.heartbeats import process_batch, process_single
from services.ingest.runtime import IngestRuntime
from shared.errors import internal_error_body
from shared.logs import request_id_var
from shared.metrics import RequestMetrics
from shared.middleware import (
    PROBLEM_HEADERS,
    BadInput,
    check_length,
    log_access,
    log_unhandled,
    read_body,
    request_id,
    response_messages,
)

SINGLE_PATH = "/v1/heartbeats"
BATCH_PATH = "/v1/heartbeats/batch"
PATHS = frozenset((SINGLE_PATH, BATCH_PATH))

_JSON: Headers = [(b"content-type", b"application/json")]
_PROBLEM: Headers = list(PROBLEM_HEADERS)


class _PathMetrics:
    """The shared HTTP metrics of one heartbeat path, counted in process (metrics.bump, Observations)."""

    def __init__(self, http: RequestMetrics, path: str) -> None:
        self.latency = metrics.Observations(http.latency("POST", path))
        # The statuses a heartbeat usually gets, resolved now; any other through RequestMetrics' cache.
        self._by_status = {status: http.counter("POST", path, status) for status in (200, 202, 429)}
        self._http = http
        self._path = path

    def count(self, status: int) -> None:
        child = self._by_status.get(status)
        if child is None:
            child = self._http.counter("POST", self._path, status)
        metrics.bump(child)


class HeartbeatFront:
    """Serves the two heartbeat POSTs on an IngestRuntime."""

    def __init__(self, service: str = "ingest") -> None:
        http = RequestMetrics(service)
        self._paths = {path: _PathMetrics(http, path) for path in PATHS}

    async def serve(self, runtime: IngestRuntime, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request on a heartbeat path."""
        started = time.perf_counter()
        path: str = scope["path"]
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
        rid = request_id(incoming_rid)
        single = path == SINGLE_PATH
        settings = runtime.settings
        limit = settings.max_single_body_bytes if single else settings.max_batch_body_bytes
        try:
            try:
                check_length(declared, limit)
                body = await read_body(receive, limit)
            except BadInput as exc:
                raise Reject(exc.status, exc.detail, "too_large" if exc.status == 413 else "invalid") from None
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
            log_unhandled(path)
            request_id_var.reset(token)
            status = 500
            payload = internal_error_body()
            headers = _PROBLEM
        start, rest = response_messages(status, payload, [*headers, (b"x-request-id", rid)])
        await send(start)
        await send(rest)
        elapsed = time.perf_counter() - started
        counted = self._paths[path]
        counted.count(status)
        counted.latency.observe(elapsed)
        if status >= 400:
            # Refusals only: an access line per accepted heartbeat would cost more than the heartbeat.
            token = request_id_var.set(rid.decode())
            log_access("POST", path, status, elapsed)
            request_id_var.reset(token)
