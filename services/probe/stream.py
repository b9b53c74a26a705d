"""The hourly stream read: SETUP and PLAY with RTP interleaved on the RTSP connection (RFC 2326 10.12),
a few seconds of packets, TEARDOWN. It measures what the camera really sends (frame rate from RTP
timestamps, bitrate, packet loss from sequence numbers) and keeps the H.264/H.265 access units as an
Annex B elementary stream, so ffmpeg can look at the picture without ever being given the camera's
address or credentials.
"""

import asyncio
import time
from dataclasses import dataclass

from services.probe.rtsp import (
    AuthMemory,
    Credentials,
    NoAnswer,
    NotRtsp,
    Response,
    RtspConnection,
    StreamAddress,
    authenticated,
)
from services.probe.sdp import VideoInfo, parse_sdp

START_CODE = b"\x00\x00\x00\x01"
MAX_KEEP_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class StreamSample:
    """What a read measured; `elementary` is the video as Annex B (empty for other codecs)."""

    status: int
    video: VideoInfo
    seconds: float
    packets: int
    frames: int
    fps: float | None
    bitrate_kbps: float
    packet_loss_pct: float | None
    elementary: bytes


class Depacketizer:
    """RTP payloads of H.264 (RFC 6184) or H.265 (RFC 7798) back into NAL units with start codes."""

    def __init__(self, codec: str | None, sprop: tuple[bytes, ...]) -> None:
        self.codec = codec
        self.out = bytearray()
        for nal in sprop:
            self.out += START_CODE + nal
        self.full = False

    def _emit(self, nal: bytes) -> None:
        if len(self.out) + len(nal) > MAX_KEEP_BYTES:
            self.full = True
            return
        self.out += START_CODE + nal

    def feed(self, payload: bytes) -> None:
        """One RTP payload."""
        if not payload or self.full:
            return
        if self.codec == "H264":
            kind = payload[0] & 0x1F
            if 1 <= kind <= 23:
                self._emit(payload)
            elif kind == 24:  # STAP-A: 16-bit sizes, each followed by a NAL unit
                self._aggregate(payload[1:])
            elif kind == 28 and len(payload) > 2:  # FU-A
                header = payload[1]
                if header & 0x80:
                    self._emit(bytes([(payload[0] & 0xE0) | (header & 0x1F)]) + payload[2:])
                elif self.out:
                    self.out += payload[2:]
        elif self.codec in ("H265", "HEVC") and len(payload) > 2:
            kind = (payload[0] >> 1) & 0x3F
            if kind < 48:
                self._emit(payload)
            elif kind == 48:  # aggregation packet
                self._aggregate(payload[2:])
            elif kind == 49 and len(payload) > 3:  # fragmentation unit
                header = payload[2]
                if header & 0x80:
                    first = (payload[0] & 0x81) | ((header & 0x3F) << 1)
                    self._emit(bytes([first, payload[1]]) + payload[3:])
                elif self.out:
                    self.out += payload[3:]

    def _aggregate(self, data: bytes) -> None:
        i = 0
        while i + 2 <= len(data):
            size = int.from_bytes(data[i : i + 2], "big")
            self._emit(data[i + 2 : i + 2 + size])
            i += 2 + size


class _Counter:
    """Frame rate, bitrate and loss from RTP headers."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.packets = 0
        self.payload_bytes = 0
        self.timestamps = 0
        self.first_ts: int | None = None
        self.span = 0
        self.last_ts: int | None = None
        self.first_seq: int | None = None
        self.highest_seq = 0

    def packet(self, rtp: bytes) -> bytes | None:
        """Count one RTP packet; its payload, or None when it is not RTP version 2."""
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            return None
        csrc = rtp[0] & 0x0F
        offset = 12 + 4 * csrc
        if rtp[0] & 0x10 and len(rtp) >= offset + 4:  # header extension
            offset += 4 + 4 * int.from_bytes(rtp[offset + 2 : offset + 4], "big")
        end = len(rtp) - (rtp[-1] if rtp[0] & 0x20 else 0)  # padding
        if offset > end:
            return None
        seq = int.from_bytes(rtp[2:4], "big")
        ts = int.from_bytes(rtp[4:8], "big")
        self.packets += 1
        self.payload_bytes += end - offset
        if self.first_seq is None:
            self.first_seq, self.highest_seq = seq, 0
        else:
            self.highest_seq = max(self.highest_seq, (seq - self.first_seq) % 65536)
        if ts != self.last_ts:
            if self.first_ts is None:
                self.first_ts = ts
            self.timestamps += 1
            self.span = max(self.span, (ts - self.first_ts) % 2**32)
            self.last_ts = ts
        return rtp[offset:end]

    def fps(self) -> float | None:
        if self.timestamps < 2 or not self.span:
            return None
        return round((self.timestamps - 1) * self.clock_rate / self.span, 2)

    def loss_pct(self) -> float | None:
        if self.first_seq is None:
            return None
        expected = self.highest_seq + 1
        return round(max(0, expected - self.packets) * 100 / expected, 2)


async def read_stream(
    address: StreamAddress,
    *,
    credentials: Credentials | None,
    memory: AuthMemory,
    connect_timeout: float,
    request_timeout: float,
    seconds: float,
) -> StreamSample:
    """DESCRIBE, SETUP the first video track over TCP, PLAY for `seconds`, TEARDOWN; NoAnswer or NotRtsp
    when the camera does not play along. A status other than 200 comes back with nothing measured."""
    conn = await RtspConnection.open(
        address.host, address.port, connect_timeout=connect_timeout, request_timeout=request_timeout
    )
    try:

        async def ask(method: str, where: StreamAddress, headers: dict[str, str]) -> Response:
            exchange = await authenticated(conn, method, where, credentials=credentials, memory=memory, headers=headers)
            return exchange.response

        response = await ask("DESCRIBE", address, {"Accept": "application/sdp"})
        if response.status != 200:
            return _nothing(response.status, VideoInfo())
        base = response.header("content-base") or response.header("content-location") or address.url
        video = parse_sdp(response.body.decode("utf-8", "replace"), base)
        if video.control is None:
            raise NotRtsp("the SDP has no video track")
        track = StreamAddress(address.host, address.port, video.control)
        setup = await ask("SETUP", track, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        if setup.status != 200:
            return _nothing(setup.status, video)
        session = (setup.header("session") or "").partition(";")[0]
        aggregate = StreamAddress(address.host, address.port, base)
        play = await ask("PLAY", aggregate, {"Session": session, "Range": "npt=0.000-"})
        if play.status != 200:
            return _nothing(play.status, video)
        counter = _Counter(video.clock_rate or 90000)
        depacketizer = Depacketizer(video.codec, video.sprop)
        started = time.monotonic()
        await _read_interleaved(conn, counter, depacketizer, seconds, request_timeout)
        elapsed = time.monotonic() - started
        conn.send("TEARDOWN", aggregate.url, {"Session": session})
    finally:
        await conn.close()
    span_s = counter.span / counter.clock_rate if counter.span else 0.0
    duration = span_s if span_s > seconds / 2 else elapsed
    return StreamSample(
        status=200,
        video=video,
        seconds=round(duration, 3),
        packets=counter.packets,
        frames=counter.timestamps,
        fps=counter.fps() if counter.packets else 0.0,
        bitrate_kbps=round(counter.payload_bytes * 8 / 1000 / duration, 1) if duration > 0 else 0.0,
        packet_loss_pct=counter.loss_pct(),
        elementary=bytes(depacketizer.out) if video.codec in ("H264", "H265", "HEVC") else b"",
    )


def _nothing(status: int, video: VideoInfo) -> StreamSample:
    return StreamSample(status, video, 0.0, 0, 0, None, 0.0, None, b"")


async def _read_interleaved(
    conn: RtspConnection, counter: _Counter, depacketizer: Depacketizer, seconds: float, idle_timeout: float
) -> None:
    """Interleaved frames on channel 0 (RTP) until `seconds` pass; RTCP and stray responses skipped."""
    reader = conn.reader
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            async with asyncio.timeout(min(left, idle_timeout)):
                first = await reader.readexactly(1)
        except TimeoutError:
            continue  # a camera sending nothing at all is measured as 0 fps, not as an error
        except (asyncio.IncompleteReadError, ConnectionResetError):
            raise NoAnswer("closed", "the camera closed the stream") from None
        # The rest of a frame is read whole, past the deadline if need be, so the stream stays in sync.
        try:
            async with asyncio.timeout(idle_timeout):
                if first != b"$":
                    # A response (to a keep-alive, say) in the middle of the data: read and drop it.
                    await reader.readuntil(b"\r\n\r\n")
                    continue
                header = await reader.readexactly(3)
                data = await reader.readexactly(int.from_bytes(header[1:3], "big"))
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionResetError, asyncio.LimitOverrunError):
            raise NoAnswer("closed", "the stream stopped in the middle of a frame") from None
        if header[0] == 0:
            payload = counter.packet(data)
            if payload is not None:
                depacketizer.feed(payload)
