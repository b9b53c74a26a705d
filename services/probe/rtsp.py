"""A small asyncio RTSP/1.0 client (RFC 2326): one TCP connection, requests in order, each answer read
within a time limit, and authentication answered as `rtsp_auth` describes.

Only what a probe needs: OPTIONS, DESCRIBE, and (for the stream tier) SETUP, PLAY, TEARDOWN with RTP
interleaved on the same connection. Why not a library: see the README's dependency table.
"""

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from services.probe.rtsp_auth import (
    AuthRefused,
    Challenge,
    DigestSession,
    basic_authorization,
    choose,
    parse_challenges,
)

USER_AGENT = "citycam-probe/1"
MAX_HEADER_LINES = 100
MAX_BODY_BYTES = 256 * 1024


class NoAnswer(Exception):
    """The camera did not give an RTSP answer: refused, timed out, reset or closed."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class NotRtsp(Exception):
    """Something answered, but not in RTSP (an HTTP server on the RTSP port, say)."""


@dataclass(frozen=True)
class StreamAddress:
    """Where a stream is: host, port, and the URL to put in requests (never with credentials)."""

    host: str
    port: int
    url: str

    @classmethod
    def parse(cls, url: str) -> "StreamAddress":
        """Split an rtsp:// URL; any user:password (or the registry's *** mask) is dropped."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "rtsp" or not parts.hostname:
            raise ValueError(f"not an rtsp:// URL: {parts.scheme}://{parts.hostname or ''}")
        host = parts.hostname
        port = parts.port or 554
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        clean = f"rtsp://{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
        return cls(host, port, clean)


@dataclass
class Response:
    """One RTSP response: status, headers (names lower case, repeats kept) and body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header."""
        return next((v for k, v in self.headers if k == name), None)

    def all(self, name: str) -> list[str]:
        """Every value of a header."""
        return [v for k, v in self.headers if k == name]

    def date(self) -> datetime | None:
        """The `Date` header as an aware datetime, when it parses."""
        value = self.header("date")
        if not value:
            return None
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Credentials:
    """A camera's user name and password (from the agent's local file, never from the registry)."""

    username: str
    password: str = field(repr=False)


@dataclass
class Login:
    """How one set of credentials last got into one camera server: a Digest session to reuse, or Basic."""

    digest: DigestSession | None = None
    basic: bool = False


class AuthMemory:
    """What the agent remembers across probes: which hosts offered Digest (never Basic to them again),
    and a login per server and credentials (an NVR's channels with the same login share one)."""

    def __init__(self) -> None:
        self.digest_hosts: set[str] = set()
        self._logins: dict[tuple[str, int, str, str], Login] = {}

    def login(self, address: "StreamAddress", credentials: Credentials) -> Login:
        """The login state of these credentials on this server (created empty)."""
        key = (address.host, address.port, credentials.username, credentials.password)
        state = self._logins.get(key)
        if state is None:
            state = self._logins[key] = Login()
        return state


class RtspConnection:
    """One TCP connection to a camera, requests sent and answered in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, request_timeout: float) -> None:
        self.reader = reader
        self.writer = writer
        self.request_timeout = request_timeout
        self.cseq = 0

    @classmethod
    async def open(cls, host: str, port: int, *, connect_timeout: float, request_timeout: float) -> "RtspConnection":
        """Connect within connect_timeout; NoAnswer when the camera refuses, is unreachable or silent."""
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_BODY_BYTES)
        except TimeoutError:
            raise NoAnswer("connect_timeout", f"no TCP answer within {connect_timeout:g} s") from None
        except ConnectionRefusedError:
            raise NoAnswer("refused") from None
        except OSError as exc:
            raise NoAnswer("unreachable", exc.strerror or type(exc).__name__) from None
        return cls(reader, writer, request_timeout=request_timeout)

    async def close(self) -> None:
        """Close the connection without waiting long for the peer."""
        self.writer.close()
        try:
            async with asyncio.timeout(1.0):
                await self.writer.wait_closed()
        except (TimeoutError, OSError):
            pass

    def send(self, method: str, url: str, headers: dict[str, str] | None = None) -> None:
        """Write one request."""
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))

    async def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response:
        """Send a request and read its answer within the request time limit."""
        self.send(method, url, headers)
        try:
            async with asyncio.timeout(self.request_timeout):
                await self.writer.drain()
                return await self.read_response()
        except TimeoutError:
            raise NoAnswer("timeout", f"no answer to {method} within {self.request_timeout:g} s") from None
        except (ConnectionResetError, BrokenPipeError):
            raise NoAnswer("reset", f"connection reset during {method}") from None
        except asyncio.IncompleteReadError:
            raise NoAnswer("closed", f"connection closed during {method}") from None
        except asyncio.LimitOverrunError:
            raise NotRtsp("an answer line longer than any RTSP header") from None

    async def read_response(self) -> Response:
        """The next response, skipping interleaved RTP frames that arrive before it."""
        while True:
            first = await self.reader.readexactly(1)
            if first != b"$":
                break
            header = await self.reader.readexactly(3)
            await self.reader.readexactly(int.from_bytes(header[1:3], "big"))
        line = first + await self.reader.readuntil(b"\n")
        version, _, rest = line.decode("latin-1").strip().partition(" ")
        if not version.startswith("RTSP/"):
            raise NotRtsp(f"answered {version[:16]!r}, not RTSP")
        code, _, reason = rest.partition(" ")
        if not (code.isdigit() and len(code) == 3):
            raise NotRtsp(f"bad status line {line[:40]!r}")
        headers: list[tuple[str, str]] = []
        for _ in range(MAX_HEADER_LINES):
            raw = (await self.reader.readuntil(b"\n")).decode("utf-8", "replace").strip()
            if not raw:
                break
            name, sep, value = raw.partition(":")
            if sep:
                headers.append((name.strip().lower(), value.strip()))
        else:
            raise NotRtsp("too many header lines")
        response = Response(int(code), reason, headers)
        length = response.header("content-length")
        if length:
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                raise NotRtsp(f"unacceptable Content-Length {length[:20]!r}")
            response.body = await self.reader.readexactly(int(length))
        return response


@dataclass
class Exchange:
    """A request answered, perhaps after authentication; scheme is what was sent last, if anything."""

    response: Response
    scheme: str | None = None
    refused: str | None = None


async def authenticated(
    conn: RtspConnection,
    method: str,
    address: StreamAddress,
    *,
    credentials: Credentials | None,
    memory: AuthMemory,
    headers: dict[str, str] | None = None,
) -> Exchange:
    """A request, answered through 401 challenges: a remembered Digest session is tried first; a new
    challenge is answered once, a stale one once more; a 401 after that means the credentials are wrong."""
    extra = dict(headers or {})
    scheme: str | None = None
    login = memory.login(address, credentials) if credentials is not None else None
    if login is not None and credentials is not None:
        if login.digest is not None:
            extra["Authorization"] = login.digest.authorization(method, address.url)
            scheme = "digest"
        elif login.basic and address.host not in memory.digest_hosts:
            extra["Authorization"] = basic_authorization(credentials.username, credentials.password)
            scheme = "basic"
    response = await conn.request(method, address.url, extra)
    fresh = False  # whether what was sent answered a challenge of this very connection
    for _ in range(3):
        if response.status != 401 or login is None or credentials is None:
            break
        challenges = parse_challenges(response.all("www-authenticate"))
        if any(c.scheme == "digest" for c in challenges):
            memory.digest_hosts.add(address.host)
        try:
            chosen: Challenge = choose(challenges, digest_seen=address.host in memory.digest_hosts)
        except AuthRefused as exc:
            login.digest, login.basic = None, False
            return Exchange(response, scheme, refused=str(exc))
        if fresh and not (chosen.scheme == "digest" and chosen.stale):
            break  # a challenge answered on this connection was refused: wrong credentials
        if chosen.scheme == "digest":
            login.digest, login.basic = DigestSession(chosen, credentials.username, credentials.password), False
            extra["Authorization"] = login.digest.authorization(method, address.url)
        else:
            login.digest, login.basic = None, True
            extra["Authorization"] = basic_authorization(credentials.username, credentials.password)
        scheme, fresh = chosen.scheme, True
        response = await conn.request(method, address.url, extra)
    if response.status == 401 and login is not None:
        login.digest, login.basic = None, False
    return Exchange(response, scheme)


@dataclass
class Described:
    """What OPTIONS and DESCRIBE on one connection gave."""

    options: Response
    describe: Response | None
    scheme: str | None
    refused: str | None
    connect_ms: float
    total_ms: float
    clock_skew_s: float | None


async def options_and_describe(
    address: StreamAddress,
    *,
    credentials: Credentials | None,
    memory: AuthMemory,
    connect_timeout: float,
    request_timeout: float,
    describe: bool = True,
) -> Described:
    """OPTIONS then DESCRIBE on one connection; the camera's Date header gives its clock skew."""
    started = time.perf_counter()
    conn = await RtspConnection.open(
        address.host, address.port, connect_timeout=connect_timeout, request_timeout=request_timeout
    )
    try:
        connected = time.perf_counter()
        sent = time.time()
        options = await authenticated(conn, "OPTIONS", address, credentials=credentials, memory=memory)
        skew = clock_skew(options.response, sent, time.time())
        described: Exchange | None = None
        if describe and options.response.status not in (453, 503) and options.refused is None:
            described = await authenticated(
                conn, "DESCRIBE", address, credentials=credentials, memory=memory, headers={"Accept": "application/sdp"}
            )
    finally:
        await conn.close()
    last = described or options
    return Described(
        options=options.response,
        describe=described.response if described else None,
        scheme=last.scheme,
        refused=last.refused or options.refused,
        connect_ms=(connected - started) * 1000,
        total_ms=(time.perf_counter() - started) * 1000,
        clock_skew_s=skew,
    )


def clock_skew(response: Response, sent: float, received: float) -> float | None:
    """The camera's clock minus ours (s), from its Date header against the middle of the round trip.

    Date has a resolution of one second, so this is rough: good for the large errors that matter (a
    camera set to local time but labelled GMT is 7 hours off in Ho Chi Minh City)."""
    date = response.date()
    if date is None:
        return None
    return date.timestamp() + 0.5 - (sent + received) / 2
