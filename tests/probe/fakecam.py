"""A scripted fake camera (asyncio, loopback only) for what GStreamer's RTSP server cannot show:
SHA-256, -sess and qop Digest variants, stale nonces, Basic next to Digest, a port that accepts and
never answers, a reset, an HTTP server on the RTSP port, 503/453 busy, a skewed clock, and ONVIF.

Its Digest check is written from RFC 7616 here, apart from the agent's, so the two can disagree.
"""

import asyncio
import base64
import hashlib
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Self

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fake\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=framerate:25\r\n"
    "a=framesize:96 1920-1080\r\na=control:trackID=1\r\n"
)


def _h(algorithm: str, text: str) -> str:
    name = algorithm.upper().removesuffix("-SESS")
    return (hashlib.sha256 if name == "SHA-256" else hashlib.md5)(text.encode()).hexdigest()


def _params(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    rest = value
    while rest:
        rest = rest.lstrip(" ,")
        key, sep, rest = rest.partition("=")
        if not sep:
            break
        if rest.startswith('"'):
            val, _, rest = rest[1:].partition('"')
        else:
            val, _, rest = rest.partition(",")
        out[key.strip().lower()] = val.strip()
    return out


@dataclass
class Script:
    """How the fake camera behaves."""

    mode: str = "rtsp"  # rtsp | silent | reset | http
    auth: str = "none"  # none | basic | digest | both (Basic and Digest offered)
    algorithms: tuple[str, ...] = ("MD5",)  # one Digest challenge each, in this order
    qop: str | None = "auth"
    username: str = "admin"
    password: str = "pa55"
    nonce_uses: int | None = None  # a nonce stops working after this many uses: 401 stale=true
    describe_status: int = 200
    options_status: int = 200
    date_offset_s: float = 0.0
    basic_only_after: int | None = None  # after this many connections, offer Basic only (a downgrade)
    options_needs_auth: bool = False


class Loopback:
    """An asyncio server on 127.0.0.1 at a port the OS picks, started and stopped by `async with`."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _closing(self) -> None:
        """What to end before the server is waited for (open connections)."""

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self._closing()
        await self.server.wait_closed()


@dataclass
class Seen:
    """What the camera received."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0


class FakeCamera(Loopback):
    """One fake camera listening on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script
        self.seen = Seen()
        self.nonces: dict[str, int] = {}
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def _closing(self) -> None:
        for writer in list(self._writers):
            writer.close()
        # Closed connections end their handlers (each reads EOF); wait for that rather than cancel them.
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=2)

    def url(self, path: str = "/live") -> str:
        return f"rtsp://127.0.0.1:{self.port}{path}"

    def _challenges(self, stale: bool = False) -> list[str]:
        s = self.script
        out = []
        downgrade = s.basic_only_after is not None and self.seen.connections > s.basic_only_after
        if s.auth in ("digest", "both") and not downgrade:
            for algorithm in s.algorithms:
                nonce = base64.b64encode(os.urandom(12)).decode()
                self.nonces[nonce] = 0
                parts = ['realm="fakecam"', f'nonce="{nonce}"', f"algorithm={algorithm}", 'opaque="op4que"']
                if s.qop:
                    parts.append(f'qop="{s.qop}"')
                if stale:
                    parts.append("stale=TRUE")
                out.append("Digest " + ", ".join(parts))
        if s.auth in ("basic", "both") or downgrade:
            out.append('Basic realm="fakecam"')
        return out

    def _authorized(self, method: str, headers: dict[str, str]) -> tuple[bool, bool]:
        """(authorized, stale nonce)."""
        s = self.script
        value = headers.get("authorization", "")
        scheme, _, rest = value.partition(" ")
        if scheme.lower() == "basic":
            if s.auth not in ("basic", "both") and not (
                s.basic_only_after is not None and self.seen.connections > s.basic_only_after
            ):
                return False, False
            return base64.b64decode(rest).decode() == f"{s.username}:{s.password}", False
        if scheme.lower() != "digest":
            return False, False
        p = _params(rest)
        algorithm = p.get("algorithm", "MD5")
        nonce = p.get("nonce", "")
        if nonce not in self.nonces or algorithm.upper() not in (a.upper() for a in s.algorithms):
            return False, False
        self.nonces[nonce] += 1
        if s.nonce_uses is not None and self.nonces[nonce] > s.nonce_uses:
            return False, True
        ha1 = _h(algorithm, f"{s.username}:fakecam:{s.password}")
        if algorithm.upper().endswith("-SESS"):
            ha1 = _h(algorithm, f"{ha1}:{nonce}:{p.get('cnonce', '')}")
        ha2 = _h(algorithm, f"{method}:{p.get('uri', '')}")
        if s.qop:
            if p.get("qop") != "auth" or "nc" not in p or "cnonce" not in p:
                return False, False
            expected = _h(algorithm, f"{ha1}:{nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        else:
            expected = _h(algorithm, f"{ha1}:{nonce}:{ha2}")
        ok = p.get("response") == expected and p.get("username") == s.username and p.get("opaque") == "op4que"
        return ok, False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.seen.connections += 1
        self.seen.open_now += 1
        self.seen.most_open = max(self.seen.most_open, self.seen.open_now)
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            self.seen.open_now -= 1
            self._writers.discard(writer)
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s = self.script
        if s.mode == "silent":
            await reader.read()  # hold the connection, answer nothing, until the client gives up
            return
        while True:
            line = await reader.readline()
            if not line:
                return
            method, url, _ = line.decode().split(" ", 2)
            headers: dict[str, str] = {}
            while (raw := (await reader.readline()).decode().strip()) != "":
                name, _, value = raw.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.seen.requests.append((method, headers))
            if s.mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if s.mode == "http":
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            status, extra, body = self._answer(method, url, headers)
            date = formatdate(time.time() + s.date_offset_s, usegmt=True)
            lines = [f"RTSP/1.0 {status} {_REASONS.get(status, 'Status')}", f"CSeq: {headers.get('cseq', '0')}"]
            lines += [f"Date: {date}", *extra]
            if body:
                lines += ["Content-Type: application/sdp", f"Content-Length: {len(body)}"]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()

    def _answer(self, method: str, url: str, headers: dict[str, str]) -> tuple[int, list[str], bytes]:
        s = self.script
        needs_auth = s.auth != "none" and (method != "OPTIONS" or s.options_needs_auth)
        if needs_auth:
            ok, stale = self._authorized(method, headers)
            if not ok:
                return 401, [f"WWW-Authenticate: {c}" for c in self._challenges(stale=stale)], b""
        if method == "OPTIONS":
            return s.options_status, ["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"], b""
        if method == "DESCRIBE":
            if s.describe_status != 200:
                return s.describe_status, [], b""
            return 200, [f"Content-Base: {url}/"], SDP.encode()
        return 405, [], b""


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    453: "Not Enough Bandwidth",
    503: "Service Unavailable",
}


class FakeOnvif(Loopback):
    """An ONVIF device service answering GetSystemDateAndTime with its clock set offset_s off."""

    def __init__(self, offset_s: float = 0.0, *, utc: bool = True) -> None:
        super().__init__()
        self.offset_s = offset_s
        self.utc = utc
        self.calls: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/device_service"

    def _body(self) -> bytes:
        t = time.gmtime(time.time() + self.offset_s)
        utc = (
            "<tt:UTCDateTime><tt:Time>"
            f"<tt:Hour>{t.tm_hour}</tt:Hour><tt:Minute>{t.tm_min}</tt:Minute><tt:Second>{t.tm_sec}</tt:Second>"
            "</tt:Time><tt:Date>"
            f"<tt:Year>{t.tm_year}</tt:Year><tt:Month>{t.tm_mon}</tt:Month><tt:Day>{t.tm_mday}</tt:Day>"
            "</tt:Date></tt:UTCDateTime>"
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">'
            "<SOAP-ENV:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            f"{utc if self.utc else ''}"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ).encode()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers: dict[str, str] = {}
            await reader.readline()
            while (raw := (await reader.readline()).decode().strip()) != "":
                name, _, value = raw.partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.calls.append(headers)
            body = self._body()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()
