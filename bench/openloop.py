"""An open-loop (wrk2-style) HTTP/1.1 load generator: requests leave on a fixed schedule whatever the
server does, and latency is measured from the scheduled time, so queueing is never hidden
(no coordinated omission). Debian has no wrk2, so this is ours; it reports its own send lag to show
it kept up."""

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from citycam.simulator.stats import percentile


@dataclass
class OpenLoopResult:
    offered_rps: float
    duration_s: float
    planned: int = 0
    sent: int = 0
    ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)  # generator's own delay when a connection was free
    last_response_s: float = 0.0  # seconds from the start to the last response

    @property
    def errors(self) -> int:
        """Planned requests that did not get the expected status in time (refused, lost or never sent)."""
        return self.planned - self.ok

    @property
    def achieved_rps(self) -> float:
        """Successful responses per second, over the schedule or until the last reply if that came later."""
        span = max(self.duration_s, self.last_response_s)
        return self.ok / span if span else 0.0

    def p(self, q: float) -> float | None:
        """Latency percentile (ms)."""
        return percentile(self.latencies_ms, q)

    def lag_p99(self) -> float | None:
        """The generator's own p99 send lag (ms): small means it kept the schedule."""
        return percentile(self.send_lag_ms, 99)


class _Conn(asyncio.Protocol):
    def __init__(self, owner: "_Run") -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.scheduled = 0.0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio subclasses

    def send(self, request: bytes, scheduled: float) -> None:
        self.scheduled = scheduled
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            status = int(head[0].split(b" ", 2)[1])
            del self.buffer[: end + 4 + length]
            self.owner.done(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost(self)
        if not self.closed.done():
            self.closed.set_result(None)


class _Run:
    def __init__(self, requests: Sequence[bytes], rate: float, duration: float, expect: int) -> None:
        self.requests = requests
        self.rate = rate
        self.duration = duration
        self.expect = expect
        self.result = OpenLoopResult(offered_rps=rate, duration_s=duration)
        self.idle: list[_Conn] = []
        self.busy: set[_Conn] = set()
        self.backlog: list[float] = []  # scheduled times waiting for a free connection
        self.backlog_head = 0
        self.next_request = 0
        self.start = 0.0
        self.total = max(1, round(rate * duration))
        self.result.planned = self.total
        self.finished = asyncio.get_running_loop().create_future()

    def _issue(self, conn: _Conn, scheduled: float) -> None:
        request = self.requests[self.next_request % len(self.requests)]
        self.next_request += 1
        self.busy.add(conn)
        conn.send(request, scheduled)
        self.result.sent += 1

    def done(self, conn: _Conn, status: int) -> None:
        now = time.perf_counter()
        self.result.latencies_ms.append((now - conn.scheduled) * 1000)
        self.result.statuses[status] = self.result.statuses.get(status, 0) + 1
        if status == self.expect:
            self.result.ok += 1
        self.result.last_response_s = now - self.start
        self.busy.discard(conn)
        if self.backlog_head < len(self.backlog):
            scheduled = self.backlog[self.backlog_head]
            self.backlog_head += 1
            self._issue(conn, scheduled)
        else:
            self.idle.append(conn)
        self._check_finished()

    def lost(self, conn: _Conn) -> None:
        if conn in self.busy:
            self.busy.discard(conn)
            self.result.transport_errors += 1
            self._check_finished()
        elif conn in self.idle:
            self.idle.remove(conn)

    def _check_finished(self) -> None:
        if (
            self.next_request >= self.total
            and self.backlog_head >= len(self.backlog)
            and not self.busy
            and not self.finished.done()
        ):
            self.finished.set_result(None)

    async def schedule(self) -> None:
        self.start = time.perf_counter()
        interval = 1.0 / self.rate
        planned = 0
        while planned < self.total:
            now = time.perf_counter()
            due = min(self.total, int((now - self.start) / interval) + 1)
            while planned < due:
                scheduled = self.start + planned * interval
                planned += 1
                if self.idle:
                    conn = self.idle.pop()
                    self.result.send_lag_ms.append((time.perf_counter() - scheduled) * 1000)
                    self._issue(conn, scheduled)
                else:
                    self.backlog.append(scheduled)
            await asyncio.sleep(max(0.0, self.start + planned * interval - time.perf_counter()))
        self._check_finished()


def render_post(host: str, path: str, token: str, body: bytes) -> bytes:
    """A complete keep-alive HTTP/1.1 POST request with a JSON body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def run_open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    expect: int = 202,
    grace: float = 15.0,
) -> OpenLoopResult:
    """Send rate x duration requests (cycling through `requests`) on a fixed schedule over `connections`."""
    loop = asyncio.get_running_loop()
    run = _Run(requests, rate, duration, expect)
    conns: list[_Conn] = []
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: _Conn(run), host, port)
        conns.append(conn)
    run.idle = list(conns)
    try:
        await run.schedule()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(run.finished), grace)
        unanswered = len(run.busy) + (len(run.backlog) - run.backlog_head)
        run.result.transport_errors += unanswered
    finally:
        for conn in conns:
            if conn.transport is not None:
                conn.transport.close()
    return run.result
