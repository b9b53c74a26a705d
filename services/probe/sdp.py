"""What a DESCRIBE's SDP (RFC 8866) says about a camera's video: codec, resolution, frame rate, and the
control URL a SETUP needs.

Cameras state the resolution in different places: `a=framesize` (Hikvision, Dahua),
`a=x-dimensions` (Axis), or only inside the H.264 sequence parameter set carried in
`sprop-parameter-sets` (GStreamer, many others), which is decoded here (ITU-T H.264 7.3.2.1.1).
"""

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import urljoin


@dataclass
class VideoInfo:
    """The first video track of an SDP (filled in as its lines are read)."""

    codec: str | None = None
    clock_rate: int | None = None
    payload_type: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    control: str | None = None
    sprop: tuple[bytes, ...] = ()

    @property
    def resolution(self) -> str | None:
        """`WIDTHxHEIGHT`, when known."""
        return f"{self.width}x{self.height}" if self.width and self.height else None


class _Bits:
    """An H.264 RBSP read bit by bit, emulation-prevention bytes removed."""

    def __init__(self, data: bytes) -> None:
        self.data = data.replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]  # IndexError past the end: the caller gives up
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt:
            nxt = (last + r.se() + 256) % 256
        last = nxt or last


def h264_sps_dimensions(sps: bytes) -> tuple[int, int] | None:
    """Width and height coded in an H.264 sequence parameter set NAL unit (header byte included)."""
    if not sps or sps[0] & 0x1F != 7:
        return None
    try:
        r = _Bits(sps[1:])
        profile = r.bits(8)
        r.bits(16)  # constraint flags, level
        r.ue()  # seq_parameter_set_id
        chroma = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma = r.ue()
            if chroma == 3:
                r.bit()
            r.ue()
            r.ue()
            r.bit()
            if r.bit():  # seq_scaling_matrix_present
                for i in range(12 if chroma == 3 else 8):
                    if r.bit():
                        _skip_scaling_list(r, 16 if i < 6 else 64)
        r.ue()  # log2_max_frame_num
        poc_type = r.ue()
        if poc_type == 0:
            r.ue()
        elif poc_type == 1:
            r.bit()
            r.se()
            r.se()
            for _ in range(r.ue()):
                r.se()
        r.ue()  # max_num_ref_frames
        r.bit()
        width_mbs = r.ue() + 1
        height_units = r.ue() + 1
        frame_mbs_only = r.bit()
        if not frame_mbs_only:
            r.bit()
        r.bit()
        crop = (0, 0, 0, 0)
        if r.bit():
            crop = (r.ue(), r.ue(), r.ue(), r.ue())
    except (IndexError, ValueError):
        return None
    sub_w, sub_h = (2, 2) if chroma == 1 else (2, 1) if chroma == 2 else (1, 1)
    crop_x = sub_w if chroma else 1
    crop_y = (sub_h if chroma else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - crop_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - crop_y * (crop[2] + crop[3])
    return (width, height) if width > 0 and height > 0 else None


def _dimensions(value: str, separators: str) -> tuple[int, int] | None:
    for sep in separators:
        left, found, right = value.partition(sep)
        if found:
            try:
                return int(left.strip()), int(right.strip())
            except ValueError:
                return None
    return None


def _number(value: str) -> float | None:
    try:
        fps = float(value.strip().split()[0])
    except (ValueError, IndexError):
        return None
    return fps if 0 < fps <= 1000 else None


def _attribute(track: VideoInfo, name: str, value: str) -> None:
    """Read one a= line of the video track."""
    if name == "rtpmap":
        codec, _, rest = value.partition(" ")[2].partition("/")
        track.codec = codec.strip().upper() or None
        rate = rest.partition("/")[0]
        track.clock_rate = int(rate) if rate.isdigit() else None
    elif name == "framerate":
        track.fps = _number(value)
    elif name == "control":
        track.control = value.strip()
    elif name == "framesize":  # a=framesize:96 1920-1080
        _size(track, _dimensions(value.partition(" ")[2], "-x"), first=False)
    elif name == "x-dimensions":  # a=x-dimensions:1920,1080
        _size(track, _dimensions(value, ","), first=True)
    elif name == "fmtp":
        for param in value.partition(" ")[2].split(";"):
            key, _, val = param.strip().partition("=")
            if key.lower() == "sprop-parameter-sets":
                try:
                    track.sprop = tuple(base64.b64decode(p) for p in val.split(",") if p)
                except (binascii.Error, ValueError):
                    track.sprop = ()


def _size(track: VideoInfo, dims: tuple[int, int] | None, *, first: bool) -> None:
    if dims and dims[0] > 0 and dims[1] > 0 and not (first and track.width):
        track.width, track.height = dims


def parse_sdp(text: str, base_url: str) -> VideoInfo:
    """The first video track's codec, resolution, fps and control URL (resolved against base_url)."""
    session_fps: float | None = None
    track: VideoInfo | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if track is not None:
                break
            if line.startswith("m=video"):
                track = VideoInfo()
                parts = line[2:].split()
                if len(parts) >= 4 and parts[3].isdigit():
                    track.payload_type = int(parts[3])
            continue
        if not line.startswith("a="):
            continue
        name, _, value = line[2:].partition(":")
        if track is not None:
            _attribute(track, name, value)
        elif name == "framerate":
            session_fps = _number(value)
    if track is None:
        return VideoInfo()
    if not track.width and track.codec == "H264":
        for nal in track.sprop:
            dims = h264_sps_dimensions(nal)
            if dims:
                track.width, track.height = dims
                break
    track.fps = track.fps or session_fps
    track.control = _control_url(base_url, track.control) if track.control else base_url
    return track


def _control_url(base: str, control: str) -> str:
    """A track's control attribute as an absolute URL (RFC 7826 appendix C.1.1)."""
    if control == "*":
        return base
    if control.lower().startswith(("rtsp://", "rtsps://")):
        return control
    # Relative to the base as a directory, as cameras (and ffmpeg) mean it: .../ch1 + trackID=1 is
    # .../ch1/trackID=1. urljoin applies its rules only to schemes it knows: join as http, swap back.
    scheme, _, rest = base.partition("://")
    return scheme + "://" + urljoin("http://" + rest.rstrip("/") + "/", control).removeprefix("http://")
