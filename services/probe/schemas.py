"""What the agent reads from the registry, what it sends to ingest, and the error codes it reports.

msgspec structs, like ingest's: the agent decodes a camera list of thousands and encodes hundreds of
heartbeats a second. The agent never imports another service, so these are its own definitions of
the registry's and ingest's documented bodies (API.md and the registry's OpenAPI schema).
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta


class ErrorCode(StrEnum):
    """Stable codes in a heartbeat's `errors`; each degrades the camera with a reason naming it."""

    RTSP_AUTH = "rtsp_auth"  # answered 401: alive, but the agent's credentials are refused (or a downgrade)
    RTSP_NOT_FOUND = "rtsp_not_found"  # 404: alive, but no stream at that path
    RTSP_BUSY = "rtsp_busy"  # 453/503: alive, its stream slots are full
    RTSP_ERROR = "rtsp_error"  # any other refusal, or an answer that is not RTSP (an HTTP server on the port)
    CLOCK_SKEW = "clock_skew"  # the camera's clock is off by more than CITYCAM_PROBE_MAX_CLOCK_SKEW_S
    STREAM_BLACK = "stream_black"  # repeated reads found a black picture
    STREAM_FROZEN = "stream_frozen"  # repeated reads found a frozen picture
    ONVIF_UNREACHABLE = "onvif_unreachable"  # the camera's ONVIF address did not answer GetSystemDateAndTime


class CameraTarget(msgspec.Struct, kw_only=True):
    """A camera behind the agent's gateway, as the registry lists it (stream URL with credentials masked)."""

    id: str
    code: str
    ip: str | None = None
    stream_url: str | None = None
    heartbeat_interval_s: int = 30
    vendor: str | None = None
    model: str | None = None
    lifecycle: str = "active"


class GatewayRef(msgspec.Struct):
    """The calling gateway."""

    id: str
    code: str


class GatewayCameras(msgspec.Struct, kw_only=True):
    """`GET /v1/gateways/self/cameras`: the whole list, with the version its ETag carries."""

    gateway: GatewayRef
    version: str
    items: list[CameraTarget]
    next_cursor: str | None = None


class TargetsFile(msgspec.Struct, kw_only=True):
    """A local targets file: the same items, for a site that runs the agent without a registry link."""

    items: list[CameraTarget]


class Heartbeat(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One item of `POST /v1/heartbeats/batch`."""

    camera: str
    sent_at: str
    fps: Annotated[float, Meta(ge=0)] | None = None
    bitrate_kbps: Annotated[float, Meta(ge=0)] | None = None
    packet_loss_pct: Annotated[float, Meta(ge=0, le=100)] | None = None
    errors: list[str] | None = None


class Batch(msgspec.Struct):
    """The request body of `POST /v1/heartbeats/batch`."""

    heartbeats: list[Heartbeat]
    sent_at: str


class BatchItemResult(msgspec.Struct):
    """One item's outcome, in the order sent."""

    camera: str
    status: int
    detail: str | None = None


class BatchResult(msgspec.Struct):
    """The response of `POST /v1/heartbeats/batch`."""

    results: list[BatchItemResult]


camera_list_decoder = msgspec.json.Decoder(GatewayCameras)
targets_file_decoder = msgspec.json.Decoder(TargetsFile)
batch_result_decoder = msgspec.json.Decoder(BatchResult)
encoder = msgspec.json.Encoder()
