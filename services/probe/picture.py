"""Is the picture black or frozen? A cheap screen, a costly check, and a verdict only after repeats.

- Screen: a stream's bitrate collapses when its picture is black or still (measured here: 9.8 kbit/s
  black against 430-560 kbit/s live), so a read below `stream_min_kbps`, or below
  `stream_drop_ratio` of the camera's own healthy bitrate, looks wrong.
- Check, only then: ffmpeg's blackdetect and freezedetect on the sample just read (fed on stdin: ffmpeg
  never sees the camera's address or credentials). freezedetect runs at about -30 dB: at its -60 dB
  default, encoder noise on a frozen picture hides the freeze.
- Verdict: `stream_black` or `stream_frozen` only after `stream_confirm_hits` reads in a row found it
  (re-read every `stream_recheck_s` while in doubt), so a dark, empty night scene is not called
  frozen from one look. Without ffmpeg, a collapse counts toward `stream_black`, the likelier cause.
"""

import asyncio
import logging
import re
import shutil
from dataclasses import dataclass, field

from services.probe.schemas import ErrorCode
from services.probe.stream import StreamSample

log = logging.getLogger(__name__)

_BLACK = re.compile(rb"black_start:\s*([0-9.]+)\s+black_end:\s*([0-9.]+)")
_FREEZE = re.compile(rb"freeze_start:\s*([0-9.]+)")
# Part of a sample that must be black or still for a hit (the rest is the encoder warming up).
COVER = 0.6


@dataclass(frozen=True)
class PictureCheck:
    """What ffmpeg found in one sample."""

    black: bool
    frozen: bool
    detail: str = ""


def ffmpeg_path(configured: str) -> str | None:
    """The ffmpeg executable, or None when it is not installed."""
    return shutil.which(configured)


async def check_picture(ffmpeg: str, sample: StreamSample, *, noise_db: float, timeout: float) -> PictureCheck:
    """Run blackdetect and freezedetect over the sample's elementary stream."""
    fmt = "h264" if sample.video.codec == "H264" else "hevc"
    duration = max(sample.seconds, 1.0)
    need = max(0.5, round(duration * COVER, 2))
    filters = f"blackdetect=d={need}:pix_th=0.10,freezedetect=n={noise_db}dB:d={need}"
    args = ["-hide_banner", "-nostats", "-loglevel", "info", "-f", fmt]
    if sample.fps:
        args += ["-framerate", f"{sample.fps:g}"]
    args += ["-i", "pipe:0", "-vf", filters, "-an", "-f", "null", "-"]
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            _, err = await proc.communicate(sample.elementary)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return PictureCheck(False, False, "ffmpeg took too long")
    black = sum(float(end) - float(start) for start, end in _BLACK.findall(err))
    # blackdetect reports a black run that lasts to the end of input only when the input ends; a run
    # still open then is written with black_end at the end, so the sum covers it.
    frozen = bool(_FREEZE.search(err))
    is_black = black >= need
    return PictureCheck(is_black, frozen and not is_black, f"black {black:.1f} s of {duration:.1f} s")


@dataclass
class PictureHistory:
    """One camera's stream reads: its healthy bitrate, and the hits in a row of each finding."""

    baseline_kbps: float | None = None
    hits: dict[ErrorCode, int] = field(default_factory=dict)
    flagged: ErrorCode | None = None

    def looks_wrong(self, sample: StreamSample, *, min_kbps: float, drop_ratio: float) -> bool:
        """The bitrate screen: below the floor, or collapsed against this camera's usual bitrate."""
        floor = min_kbps
        if self.baseline_kbps is not None:
            floor = max(floor, self.baseline_kbps * drop_ratio)
        return sample.bitrate_kbps < floor

    def healthy(self, sample: StreamSample) -> None:
        """A read that looked right: learn its bitrate, forget past hits."""
        kbps = sample.bitrate_kbps
        self.baseline_kbps = kbps if self.baseline_kbps is None else 0.7 * self.baseline_kbps + 0.3 * kbps
        self.hits.clear()
        self.flagged = None

    def found(self, code: ErrorCode | None, *, confirm: int) -> None:
        """A read that looked wrong, and what the check found in it (None: nothing)."""
        if code is None:
            self.hits.clear()
            self.flagged = None
            return
        self.hits = {code: self.hits.get(code, 0) + 1}
        if self.hits[code] >= confirm:
            self.flagged = code

    @property
    def in_doubt(self) -> bool:
        """Whether a finding awaits confirmation (re-read sooner than hourly)."""
        return bool(self.hits) and self.flagged is None
