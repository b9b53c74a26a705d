"""Response and request bodies of the health API."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.gateway_liveness import GatewayLiveness
from shared.models import CameraStatus, DeliveryState, IncidentKind, IncidentState
from shared.schemas import AreaCode, Name, StrictModel

Status = CameraStatus
GroupBy = Literal["district", "ward", "vendor", "model", "kind", "owner", "gateway", "tag"]


class ByStatus(BaseModel):
    online: int = 0
    degraded: int = 0
    offline: int = 0
    unknown: int = 0
    maintenance: int = 0


class Summary(BaseModel):
    total: int = Field(description="Monitored cameras (lifecycle active or maintenance)")
    by_status: ByStatus
    availability_pct: float | None = Field(
        description="Share of monitored cameras up now: (online + degraded) / (online + degraded + offline);"
        " maintenance and never-reported cameras are left out; null when there are none"
    )
    as_of: datetime | None = Field(description="The moment the statuses were derived for (null before the first pass)")
    evaluated_at: datetime | None = Field(description="When the evaluator last ran")
    stale: bool = Field(description="True while no heartbeat arrives city-wide: offline flips are held back")
    newest_heartbeat_age_s: float | None = Field(description="Age of the newest heartbeat from any camera")
    flapping: int = Field(description="Cameras currently flapping")
    open_incidents: int


class GroupItem(BaseModel):
    key: str | None = Field(description="The group value (null for cameras without one)")
    label: str | None = Field(default=None, description="A readable name for the key (gateway code)")
    total: int
    by_status: ByStatus
    availability_pct: float | None


class Groups(BaseModel):
    by: GroupBy
    items: list[GroupItem]


class HeartbeatRead(BaseModel):
    received_at: datetime
    sent_at: datetime | None
    uptime_s: int | None
    fps: float | None
    bitrate_kbps: float | None
    packet_loss_pct: float | None
    temperature_c: float | None
    storage_free_pct: float | None
    firmware: str | None
    errors: list[str] | None
    gateway_id: uuid.UUID | None


class CameraHealthRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    district: str
    ward: str | None
    latitude: float
    longitude: float
    status: Status
    reason: str
    since: datetime
    flapping: bool
    last_seen: datetime | None = Field(description="When the newest heartbeat was received")
    heartbeat_interval_s: int
    offline_after_s: float
    incident_id: int | None


class EventRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: int
    camera_id: uuid.UUID
    code: str
    district: str
    ward: str | None
    from_: Status | None = Field(alias="from")
    to: Status
    reason: str
    at: datetime = Field(description="When the threshold was crossed")
    recorded_at: datetime = Field(description="When the evaluator recorded the transition")
    incident_id: int | None = Field(description="The incident this transition belongs to, if any")
    damped: bool = Field(description="True when the camera is flapping: not alarmed on (webhooks skip it)")


class CameraHealthDetail(CameraHealthRead):
    as_of: datetime | None
    last_heartbeat: HeartbeatRead | None
    recent_transitions: list[EventRead]


class IncidentRead(BaseModel):
    id: int
    kind: IncidentKind
    scope: str = Field(description="Gateway id, ward or district code, or 'ingest'")
    district: str | None
    state: IncidentState
    cause: str = Field(description="A guess at the cause: gateway, area (power/network) or the ingest path")
    opened_at: datetime
    closed_at: datetime | None
    camera_count: int
    camera_ids: list[uuid.UUID]
    details: dict[str, object]
    acked_by: str | None = Field(default=None, description="Name of the API key that acknowledged it")
    acked_at: datetime | None = Field(default=None, description="When it was acknowledged (null: not acked)")
    note: str | None = Field(default=None, description="The note given with the last ack or unack")


class AckBody(StrictModel):
    note: str | None = Field(default=None, min_length=1, max_length=500, description="Optional note")


class AvailabilityItem(BaseModel):
    key: str | None
    cameras: int
    availability_pct: float | None = Field(
        description="(online + degraded) / (online + degraded + offline) time; null with no monitored time"
    )
    online_pct: float | None = Field(description="online / (online + degraded + offline) time")
    online_s: float
    degraded_s: float
    offline_s: float
    maintenance_s: float = Field(description="Excluded from the denominator")
    never_reported_s: float = Field(description="Status unknown (registered, never reported): excluded")


class Availability(BaseModel):
    window: str
    start: datetime
    end: datetime
    by: GroupBy | None
    total: AvailabilityItem
    items: list[AvailabilityItem]


class WebhookCreate(StrictModel):
    name: Name
    url: Annotated[str, Field(min_length=8, max_length=2000, description="http(s) URL that receives the POSTs")]
    districts: Annotated[list[AreaCode], Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="Only transitions in these districts (default: all)"
    )
    statuses: Annotated[list[Status], Field(min_length=1, max_length=5)] | None = Field(
        default=None, description="Only transitions to these statuses (default: all)"
    )
    transitions: bool = Field(default=True, description="Deliver status transitions")
    incidents: bool = Field(default=True, description="Deliver incidents opening and closing")
    incident_members: bool = Field(
        default=False, description="Also deliver, one by one, transitions that belong to an incident"
    )


class WebhookRead(BaseModel):
    id: uuid.UUID
    name: str
    url: str
    districts: list[str] | None
    statuses: list[str] | None
    transitions: bool
    incidents: bool
    incident_members: bool
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_by: str
    created_at: datetime
    last_success_at: datetime | None
    last_failure_at: datetime | None
    failing_since: datetime | None = Field(description="The first failed attempt since the last success")
    owner_key_id: uuid.UUID | None = Field(description="The key that created it (operators manage only their own)")


class WebhookChangeRead(BaseModel):
    id: int
    webhook_id: uuid.UUID
    action: str = Field(description="created, disabled, enabled or deleted")
    actor: str = Field(description="The key's name, or citycam-health when the sender disabled it")
    api_key_id: uuid.UUID | None
    request_id: str | None
    at: datetime
    changes: dict[str, object]


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The HMAC-SHA256 signing key, shown this once. Each POST carries "
        "X-Citycam-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<body>')>"
    )


class DeliveryRead(BaseModel):
    id: int
    webhook_id: uuid.UUID
    event: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    status_event_id: int | None
    incident_id: int | None


GatewayStatus = Literal["online", "offline", "unknown", "maintenance"]


class GatewayHealthRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: str = Field(description="gateway (an NVR forwarding heartbeats) or probe (a probe agent)")
    district: str
    ward: str | None
    lifecycle: str
    heartbeat_interval_s: int
    offline_after_s: float = Field(description="Silent this long, the gateway is offline: interval x OFFLINE_FACTOR")
    status: GatewayStatus = Field(
        description="online, offline (silent past offline_after_s), unknown (never heard) or maintenance"
    )
    liveness: GatewayLiveness
    incident_id: int | None = Field(
        description="The open gateway incident: a dark gateway and its dark cameras are this one incident"
    )
