"""Heartbeat bodies as msgspec structs: one definition validates every request and documents the API.

msgspec rather than pydantic because the heartbeat path decodes thousands of bodies a second; the
OpenAPI components are generated from these same structs, so the schema cannot drift from the check.
"""

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from shared.models import HeartbeatMetrics
from shared.schemas import check_storable_datetime

_CAMERA_REF = r"^[A-Za-z0-9_.:\-]+$"

SentAt = Annotated[
    datetime,
    Meta(tz=True, description="The device's clock when it sent the heartbeat (RFC 3339 with offset), kept as reported"),
]
CameraRef = Annotated[str, Meta(min_length=1, max_length=64, pattern=_CAMERA_REF, description="Camera id or code")]


def _check_sent_at(sent_at: datetime | None) -> None:
    # Decoding runs this through __post_init__, so a time Postgres cannot store is a 422 like any
    # other bad value, before the heartbeat is queued (in a group commit it would fail every unit).
    if sent_at is not None:
        try:
            check_storable_datetime(sent_at)
        except ValueError as exc:
            raise ValueError(f"sent_at: {exc}") from None


class HeartbeatIn(HeartbeatMetrics, forbid_unknown_fields=True, kw_only=True):
    """One heartbeat; every field is optional (an empty body or `{}` is a bare liveness signal).
    The metrics and their bounds are shared.models.HeartbeatMetrics."""

    sent_at: SentAt | None = None

    def __post_init__(self) -> None:
        _check_sent_at(self.sent_at)


class BatchHeartbeatIn(HeartbeatIn, forbid_unknown_fields=True, kw_only=True):
    """One heartbeat in a gateway batch, naming the camera it is for."""

    camera: CameraRef


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """A gateway's batch: up to 1000 heartbeats of the cameras behind it. An empty list is the gateway's
    own keep-alive (a probe agent whose cameras are all silent is still alive)."""

    heartbeats: Annotated[list[BatchHeartbeatIn], Meta(max_length=1000)]
    sent_at: SentAt | None = None

    def __post_init__(self) -> None:
        _check_sent_at(self.sent_at)


class BatchEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    """The batch as decoded: items stay raw so each one is validated, and rejected, on its own."""

    heartbeats: list[msgspec.Raw]
    sent_at: SentAt | None = None

    def __post_init__(self) -> None:
        _check_sent_at(self.sent_at)


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
batch_envelope_decoder = msgspec.json.Decoder(BatchEnvelope)
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
