"""Heartbeat bodies as msgspec structs: one definition validates every request and documents the API.

msgspec rather than pydantic because the heartbeat path decodes thousands of bodies a second; the
OpenAPI components are generated from these same structs, so the schema cannot drift from the check.
"""

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

# Printable ASCII only: firmware strings and error codes end up in logs, dashboards and CSV exports.
_PRINTABLE = r"^[\x20-\x7e]+$"
_CODE = r"^[A-Za-z0-9_.:\-/]+$"
_CAMERA_REF = r"^[A-Za-z0-9_.:\-]+$"

SentAt = Annotated[
    datetime,
    Meta(tz=True, description="The device's clock when it sent the heartbeat (RFC 3339 with offset), kept as reported"),
]
UptimeS = Annotated[int, Meta(ge=0, le=10_000_000_000, description="Seconds since the device booted")]
Fps = Annotated[float, Meta(ge=0, le=1000, description="Frames per second of the main stream")]
BitrateKbps = Annotated[float, Meta(ge=0, le=10_000_000, description="Bitrate of the main stream in kbit/s")]
Percent = Annotated[float, Meta(ge=0, le=100)]
TemperatureC = Annotated[float, Meta(ge=-80, le=200, description="Device temperature in °C")]
Firmware = Annotated[str, Meta(min_length=1, max_length=100, pattern=_PRINTABLE, description="Firmware version")]
ErrorCode = Annotated[str, Meta(min_length=1, max_length=64, pattern=_CODE)]
ErrorCodes = Annotated[list[ErrorCode], Meta(max_length=32, description="Error codes the device reports now")]
CameraRef = Annotated[str, Meta(min_length=1, max_length=64, pattern=_CAMERA_REF, description="Camera id or code")]


class HeartbeatIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One heartbeat; every field is optional (an empty body or `{}` is a bare liveness signal)."""

    sent_at: SentAt | None = None
    uptime_s: UptimeS | None = None
    fps: Fps | None = None
    bitrate_kbps: BitrateKbps | None = None
    packet_loss_pct: Annotated[Percent, Meta(description="Packet loss in %")] | None = None
    temperature_c: TemperatureC | None = None
    storage_free_pct: Annotated[Percent, Meta(description="Free local storage in %")] | None = None
    firmware: Firmware | None = None
    errors: ErrorCodes | None = None


class BatchHeartbeatIn(HeartbeatIn, forbid_unknown_fields=True, kw_only=True):
    """One heartbeat in a gateway batch, naming the camera it is for."""

    camera: CameraRef


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """A gateway's batch: up to 1000 heartbeats of the cameras behind it. An empty list is the gateway's
    own keep-alive (a probe agent whose cameras are all silent is still alive)."""

    heartbeats: Annotated[list[BatchHeartbeatIn], Meta(max_length=1000)]
    sent_at: SentAt | None = None


class _BatchEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    """The batch as decoded: items stay raw so each one is validated, and rejected, on its own."""

    heartbeats: list[msgspec.Raw]
    sent_at: SentAt | None = None


class HeartbeatAccepted(msgspec.Struct):
    """The heartbeat is committed."""

    received_at: Annotated[datetime, Meta(description="The server's clock when the heartbeat arrived (UTC)")]


class BatchItemResult(msgspec.Struct, omit_defaults=True):
    """The outcome of one item, in the order sent."""

    camera: Annotated[str, Meta(description="The camera as named in the item")]
    status: Annotated[int, Meta(description="202 stored, else the 4xx the item would have got alone")]
    detail: str | None = None
    received_at: datetime | None = None


class BatchResult(msgspec.Struct):
    """One result per item, in the same order."""

    results: list[BatchItemResult]


heartbeat_decoder = msgspec.json.Decoder(HeartbeatIn)
batch_item_decoder = msgspec.json.Decoder(BatchHeartbeatIn)
batch_envelope_decoder = msgspec.json.Decoder(_BatchEnvelope)
batch_decoder = msgspec.json.Decoder(BatchIn)
encoder = msgspec.json.Encoder()


def openapi_components() -> dict[str, Any]:
    """JSON schemas of the bodies, as OpenAPI components (generated from the structs above)."""
    _, components = msgspec.json.schema_components(
        [HeartbeatIn, BatchIn, HeartbeatAccepted, BatchResult],
        ref_template="#/components/schemas/{name}",
    )
    return components


def schema_ref(struct: type[msgspec.Struct]) -> dict[str, str]:
    """A $ref to one of the components."""
    return {"$ref": f"#/components/schemas/{struct.__name__}"}
