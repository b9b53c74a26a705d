"""The checks of one camera, tier by tier, and the heartbeat they add up to.

Honest mapping to health: a camera that does not answer (after one retry, so a lost packet raises no
alarm) gets no heartbeat and goes offline by the usual rules; a camera that answers is alive, and
whatever is wrong with it goes in `errors` (ErrorCode), which degrades it with a reason naming the code.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from services.probe import onvif
from services.probe.picture import PictureHistory, check_picture
from services.probe.rtsp import (
    AuthMemory,
    Credentials,
    Described,
    NoAnswer,
    NotRtsp,
    StreamAddress,
    options_and_describe,
)
from services.probe.schemas import ErrorCode, Heartbeat
from services.probe.sdp import VideoInfo, parse_sdp
from services.probe.settings import ProbeSettings
from services.probe.stream import StreamSample, read_stream

log = logging.getLogger(__name__)

BUSY = (453, 503)


@dataclass(frozen=True)
class RtspResult:
    """The every-interval check: alive or not, what is wrong, and what the SDP and Date header said."""

    alive: bool
    errors: tuple[ErrorCode, ...] = ()
    status: int | None = None
    no_answer: str | None = None
    detail: str = ""
    latency_ms: float | None = None
    video: VideoInfo | None = None
    clock_skew_s: float | None = None
    scheme: str | None = None
    attempts: int = 1

    @property
    def result(self) -> str:
        """One word for metrics and the table: ok, the first error code, or no_answer."""
        if not self.alive:
            return "no_answer"
        return self.errors[0].value if self.errors else "ok"


@dataclass
class StreamState:
    """The stream tier's memory of one camera."""

    history: PictureHistory = field(default_factory=PictureHistory)
    last: StreamSample | None = None


def classify(described: Described, address: StreamAddress, *, max_skew_s: float, attempts: int) -> RtspResult:
    """What OPTIONS and DESCRIBE answered, as a result with error codes."""
    response = described.describe or described.options
    status = response.status
    errors: list[ErrorCode] = []
    detail = f"{status} {response.reason}".strip()
    video = None
    if described.refused is not None:
        errors.append(ErrorCode.RTSP_AUTH)
        detail = described.refused
    elif status == 401:
        errors.append(ErrorCode.RTSP_AUTH)
        detail = "401: credentials refused" if described.scheme else "401: no credentials for this camera"
    elif status == 404:
        errors.append(ErrorCode.RTSP_NOT_FOUND)
    elif status in BUSY:
        errors.append(ErrorCode.RTSP_BUSY)
    elif not 200 <= status < 300:
        errors.append(ErrorCode.RTSP_ERROR)
    elif described.describe is not None:
        base = response.header("content-base") or response.header("content-location") or address.url
        video = parse_sdp(response.body.decode("utf-8", "replace"), base)
    skew = described.clock_skew_s
    if skew is not None and abs(skew) > max_skew_s:
        errors.append(ErrorCode.CLOCK_SKEW)
    return RtspResult(
        alive=True,
        errors=tuple(errors),
        status=status,
        detail=detail,
        latency_ms=round(described.total_ms, 2),
        video=video,
        clock_skew_s=round(skew, 1) if skew is not None else None,
        scheme=described.scheme,
        attempts=attempts,
    )


async def probe_rtsp(
    address: StreamAddress,
    *,
    credentials: Credentials | None,
    memory: AuthMemory,
    settings: ProbeSettings,
    describe: bool = True,
) -> RtspResult:
    """TCP connect, OPTIONS and DESCRIBE on one connection; one retry when nothing answers."""
    last = NoAnswer("timeout")
    for attempt in range(1, settings.retries + 2):
        try:
            described = await options_and_describe(
                address,
                credentials=credentials,
                memory=memory,
                connect_timeout=settings.connect_timeout_s,
                request_timeout=settings.request_timeout_s,
                describe=describe,
            )
        except NoAnswer as exc:
            last = exc
            if attempt <= settings.retries:
                await asyncio.sleep(settings.retry_delay_s)
            continue
        except NotRtsp as exc:
            return RtspResult(alive=True, errors=(ErrorCode.RTSP_ERROR,), detail=str(exc), attempts=attempt)
        return classify(described, address, max_skew_s=settings.max_clock_skew_s, attempts=attempt)
    return RtspResult(alive=False, no_answer=last.kind, detail=str(last), attempts=settings.retries + 1)


async def probe_onvif(client: httpx.AsyncClient, url: str, *, settings: ProbeSettings) -> onvif.OnvifClock:
    """GetSystemDateAndTime, retried once like the RTSP check."""
    clock = await onvif.system_date_and_time(client, url, timeout=settings.onvif_timeout_s)
    if not clock.reachable and settings.retries:
        await asyncio.sleep(settings.retry_delay_s)
        clock = await onvif.system_date_and_time(client, url, timeout=settings.onvif_timeout_s)
    return clock


async def probe_stream(
    address: StreamAddress,
    state: StreamState,
    *,
    credentials: Credentials | None,
    memory: AuthMemory,
    settings: ProbeSettings,
    ffmpeg: str | None,
) -> StreamSample | None:
    """Read the (sub)stream, screen its bitrate, check the picture when it looks wrong, update the
    verdict; None when the camera did not play (the RTSP tier reports why)."""
    try:
        sample = await read_stream(
            address,
            credentials=credentials,
            memory=memory,
            connect_timeout=settings.connect_timeout_s,
            request_timeout=settings.request_timeout_s,
            seconds=settings.stream_read_s,
        )
    except (NoAnswer, NotRtsp) as exc:
        log.info("stream read failed", extra={"stream": address.url, "why": str(exc)})
        return None
    if sample.status != 200:
        return None
    state.last = sample
    history = state.history
    if not history.looks_wrong(sample, min_kbps=settings.stream_min_kbps, drop_ratio=settings.stream_drop_ratio):
        history.healthy(sample)
        return sample
    found: ErrorCode | None = ErrorCode.STREAM_BLACK
    if ffmpeg is not None and sample.elementary:
        check = await check_picture(
            ffmpeg, sample, noise_db=settings.freeze_noise_db, timeout=settings.stream_read_s * 5 + 10
        )
        found = ErrorCode.STREAM_BLACK if check.black else ErrorCode.STREAM_FROZEN if check.frozen else None
    history.found(found, confirm=settings.stream_confirm_hits)
    return sample


def heartbeat(
    camera: str,
    rtsp: RtspResult,
    *,
    onvif_clock: onvif.OnvifClock | None,
    onvif_configured: bool,
    stream: StreamState,
    max_skew_s: float,
) -> Heartbeat | None:
    """The heartbeat for a camera that answered; None for one that did not (health sees it go silent)."""
    if not rtsp.alive:
        return None
    errors = list(rtsp.errors)
    if onvif_configured and onvif_clock is not None:
        if not onvif_clock.reachable:
            errors.append(ErrorCode.ONVIF_UNREACHABLE)
        elif (
            onvif_clock.clock_skew_s is not None
            and abs(onvif_clock.clock_skew_s) > max_skew_s
            and ErrorCode.CLOCK_SKEW not in errors
        ):
            errors.append(ErrorCode.CLOCK_SKEW)
    if stream.history.flagged is not None:
        errors.append(stream.history.flagged)
    sample = stream.last
    fps = sample.fps if sample is not None and sample.fps is not None else rtsp.video.fps if rtsp.video else None
    return Heartbeat(
        camera=camera,
        sent_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        fps=fps,
        bitrate_kbps=sample.bitrate_kbps if sample is not None else None,
        packet_loss_pct=sample.packet_loss_pct if sample is not None else None,
        errors=[e.value for e in errors] or None,
    )
