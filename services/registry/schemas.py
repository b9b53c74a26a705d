"""Request and response bodies of the registry API."""

import uuid
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StringConstraints
from sqlalchemy import inspect

from shared.gateway_liveness import GatewayLiveness
from shared.models import Camera, CameraKind, Gateway, GatewayKind, Lifecycle, Role
from shared.schemas import (
    AreaCode,
    DeviceCode,
    LongText,
    Name,
    ShortText,
    StrictModel,
    Tag,
)


def _not_a_route(code: str) -> str:
    # /v1/cameras/export is a route, so a camera coded "export" could never be read by its code.
    if code.lower() in ("export", "import"):
        raise ValueError(f"{code!r} is reserved; choose another code")
    return code


CameraCode = Annotated[DeviceCode, AfterValidator(_not_a_route)]


def _not_self(code: str) -> str:
    # /v1/gateways/self/cameras is the calling gateway's own list: no gateway may be coded "self".
    if code.lower() == "self":
        raise ValueError("'self' is reserved; choose another code")
    return code


GatewayCode = Annotated[DeviceCode, AfterValidator(_not_self)]
GatewayKindField = Annotated[
    GatewayKind,
    Field(description="gateway: an NVR or gateway forwarding heartbeats; probe: a probe agent checking its cameras"),
]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Interval = Annotated[int, Field(ge=5, le=3600, description="Seconds between heartbeats (5-3600)")]
Direction = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
StreamUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    Field(description="rtsp, rtsps, http or https URL; credentials are stored apart and never returned"),
]
Tags = Annotated[list[Tag], Field(max_length=50)]
DistrictCode = Annotated[
    AreaCode,
    Field(
        description="Legacy district (or former province) code, e.g. BTH; optional when a ward is given (its"
        " legacy district is implied through the crosswalk) or when loaded boundaries place the point in a ward"
    ),
]
WardCode = Annotated[
    AreaCode,
    Field(
        description="Ward code, e.g. 26734 (a 2025 unit: ward, commune or special zone); filled from the"
        " coordinates when boundaries are loaded and none is given"
    ),
]


class LocationWarning(BaseModel):
    """Something about a written location that looks wrong but was not refused."""

    kind: Literal["outside_area", "district_differs"] = Field(
        description="outside_area: the coordinates lie outside the loaded boundary of the declared district or"
        " ward; district_differs: the district given is not the one the ward came from (seven 2025 units hold"
        " parts of a second old district, so this may be right)"
    )
    loc: list[str]
    msg: str


class CameraCreate(StrictModel):
    code: CameraCode
    name: Name
    latitude: Latitude
    longitude: Longitude
    address: LongText | None = None
    district: DistrictCode | None = None
    ward: WardCode | None = None
    road: ShortText | None = None
    direction: Direction | None = None
    kind: CameraKind = "fixed"
    vendor: Label | None = None
    model: Label | None = None
    firmware: Label | None = None
    ip: IPv4Address | IPv6Address | None = None
    stream_url: StreamUrl | None = None
    lifecycle: Lifecycle = "active"
    heartbeat_interval_s: Interval = 30
    tags: Tags = Field(default_factory=list)
    owner: ShortText | None = None
    gateway_id: uuid.UUID | None = None
    installed_at: AwareDatetime | None = None


class CameraUpdate(StrictModel):
    """Only the fields present change; null clears an optional field."""

    code: CameraCode | None = None
    name: Name | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    address: LongText | None = None
    district: DistrictCode | None = None
    ward: WardCode | None = None
    road: ShortText | None = None
    direction: Direction | None = None
    kind: CameraKind | None = None
    vendor: Label | None = None
    model: Label | None = None
    firmware: Label | None = None
    ip: IPv4Address | IPv6Address | None = None
    stream_url: StreamUrl | None = None
    lifecycle: Lifecycle | None = None
    heartbeat_interval_s: Interval | None = None
    tags: Tags | None = None
    owner: ShortText | None = None
    gateway_id: uuid.UUID | None = None
    installed_at: AwareDatetime | None = None


class CameraRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    latitude: float
    longitude: float
    address: str | None
    district: str
    ward: str | None
    road: str | None
    direction: str | None
    kind: str
    vendor: str | None
    model: str | None
    firmware: str | None
    ip: str | None
    stream_url: str | None = Field(description="With any credentials masked as ***")
    lifecycle: str
    heartbeat_interval_s: int
    tags: list[str]
    owner: str | None
    gateway_id: uuid.UUID | None
    installed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class CameraWritten(CameraRead):
    warnings: list[LocationWarning] = Field(
        default_factory=list, description="What looks wrong about the location (written all the same)"
    )


class CameraCreated(CameraWritten):
    device_token: str = Field(description="The camera's device token, shown this once")


class DeviceTokenIssued(BaseModel):
    id: uuid.UUID
    code: str
    device_token: str = Field(description="The new device token, shown this once; the previous one no longer works")
    prefix: str


class ChangeRead(BaseModel):
    id: int
    action: str
    actor: str = Field(description="Name of the API key that made the change")
    request_id: str | None
    at: datetime
    unconditional: bool = Field(description="True when an edit was made without If-Match")
    changes: dict[str, Any] = Field(description='{"field": {"from": old, "to": new}}; secrets appear only as ***')


class ImportRejected(BaseModel):
    line: int = Field(description="Line of the file where the row starts (the header is line 1 in CSV)")
    code: str | None
    errors: list[dict[str, Any]]


class ImportFlagged(BaseModel):
    line: int = Field(description="Line of the file where the row starts")
    code: str
    warnings: list[LocationWarning]


class ImportToken(BaseModel):
    line: int = Field(description="Line of the file where the row starts")
    code: str
    id: uuid.UUID
    device_token: str = Field(description="The camera's device token, shown this once")


class ImportResult(BaseModel):
    dry_run: bool
    created: int
    updated: int
    unchanged: int
    rejected: list[ImportRejected]
    flagged: list[ImportFlagged] = Field(
        default_factory=list, description="Rows written with location warnings (see LocationWarning)"
    )
    device_tokens: list[ImportToken] | None = Field(
        default=None,
        description="With issue_tokens=true: a device token for each camera this import created, shown this once"
        " (an updated camera keeps its token; rotate-token issues a new one); empty on a dry run; null otherwise",
    )


class GatewayCreate(StrictModel):
    code: GatewayCode
    name: Name
    district: AreaCode
    ward: AreaCode | None = None
    address: LongText | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    vendor: Label | None = None
    model: Label | None = None
    firmware: Label | None = None
    ip: IPv4Address | IPv6Address | None = None
    owner: ShortText | None = None
    tags: Tags = Field(default_factory=list)
    lifecycle: Lifecycle = "active"
    heartbeat_interval_s: Interval = 30
    kind: GatewayKindField = "gateway"


class GatewayUpdate(StrictModel):
    code: GatewayCode | None = None
    name: Name | None = None
    district: AreaCode | None = None
    ward: AreaCode | None = None
    address: LongText | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    vendor: Label | None = None
    model: Label | None = None
    firmware: Label | None = None
    ip: IPv4Address | IPv6Address | None = None
    owner: ShortText | None = None
    tags: Tags | None = None
    lifecycle: Lifecycle | None = None
    heartbeat_interval_s: Interval | None = None
    kind: GatewayKindField | None = None


class GatewayRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    district: str
    ward: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    vendor: str | None
    model: str | None
    firmware: str | None
    ip: str | None
    owner: str | None
    tags: list[str]
    lifecycle: str
    heartbeat_interval_s: int
    kind: str
    created_at: datetime
    updated_at: datetime
    version: int
    liveness: GatewayLiveness = Field(description="The gateway's own last report and its cameras' state (read-only)")


class GatewayCreated(GatewayRead):
    device_token: str = Field(description="The gateway's device token, shown this once")


class GatewaySelf(BaseModel):
    id: uuid.UUID
    code: str
    kind: str


class GatewayCameraRead(BaseModel):
    """A camera as the gateway (or probe agent) in front of it needs it: never its credentials."""

    id: uuid.UUID
    code: str
    ip: str | None
    stream_url: str | None = Field(description="With any credentials masked as ***: the agent has its own")
    heartbeat_interval_s: int
    vendor: str | None
    model: str | None
    lifecycle: str


class GatewayCameras(BaseModel):
    """The whole list in one page (next_cursor is always null); `version` is the list's ETag."""

    gateway: GatewaySelf
    version: str = Field(description="Changes whenever a camera joins, leaves or changes; also the ETag")
    items: list[GatewayCameraRead]
    next_cursor: None = None


class AreaRead(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    set: str | None = Field(
        description="The area set: legacy (the 22 districts and the two former provinces), 2025 (the 168 units"
        " since 1 July 2025) or one loaded from a file; null for the city, the parent of both"
    )
    former_district: str | None = Field(
        description="The crosswalk: the legacy district (or former province) a 2025 unit came from; a camera"
        " given only this ward is counted under it"
    )
    centroid_lat: float | None
    centroid_lon: float | None


class ApiKeyCreate(StrictModel):
    name: Name
    role: Role
    districts: Annotated[list[AreaCode], Field(max_length=50)] | None = None


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    role: str
    districts: list[str] | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The API key, shown this once")


# Set by the database: a read shows them, a client never writes them (an import ignores them).
DATABASE_OWNED = ("id", "created_at", "updated_at", "version")
# The fields a client writes, in the API's order: what a change is audited by, and a PATCH may name.
CAMERA_FIELDS = tuple(name for name in CameraRead.model_fields if name not in DATABASE_OWNED)
# A gateway's liveness is derived (shared/gateway_liveness.py), not a field anyone writes.
GATEWAY_FIELDS = tuple(name for name in GatewayRead.model_fields if name not in (*DATABASE_OWNED, "liveness"))
# The fields the database keeps NOT NULL: an explicit null in a PATCH (or a JSON-lines import) is a 422,
# not a silent no-op.
CAMERA_REQUIRED = frozenset(name for name in CAMERA_FIELDS if not inspect(Camera).columns[name].nullable)
GATEWAY_REQUIRED = frozenset(name for name in GATEWAY_FIELDS if not inspect(Gateway).columns[name].nullable)
