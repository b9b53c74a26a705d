"""Every table of the citycam schema; services query these, none owns one."""

from shared.models.api_key import ROLES, ApiKey, Role
from shared.models.area import (
    AREA_LEVELS,
    DISTRICT_LEVELS,
    LEGACY_SET,
    WARD_LEVELS,
    WARDS_2025_SET,
    Area,
    AreaBoundary,
    AreaLevel,
)
from shared.models.base import NAMING_CONVENTION, Base
from shared.models.camera import CAMERA_KINDS, LIFECYCLES, SERVED_LIFECYCLES, Camera, CameraKind, Lifecycle
from shared.models.camera_change import CameraChange
from shared.models.console_session import ConsoleSession
from shared.models.device_credential import DeviceCredential
from shared.models.gateway import GATEWAY_KINDS, Gateway, GatewayKind, GatewayState
from shared.models.heartbeat import (
    HEARTBEAT_METRIC_TYPES,
    HEARTBEAT_METRICS,
    HEARTBEAT_PARTITION_PREFIX,
    CameraState,
    Heartbeat,
    HeartbeatMetrics,
)
from shared.models.incident import INCIDENT_KINDS, INCIDENT_STATES, Incident, IncidentKind, IncidentState
from shared.models.status_event import STATUS_RANKS, STATUSES, CameraHealth, CameraStatus, HealthMeta, StatusEvent
from shared.models.webhook import DELIVERY_STATES, DeliveryState, Webhook, WebhookChange, WebhookDelivery

__all__ = [
    "AREA_LEVELS",
    "CAMERA_KINDS",
    "DELIVERY_STATES",
    "DISTRICT_LEVELS",
    "GATEWAY_KINDS",
    "HEARTBEAT_METRICS",
    "HEARTBEAT_METRIC_TYPES",
    "HEARTBEAT_PARTITION_PREFIX",
    "INCIDENT_KINDS",
    "INCIDENT_STATES",
    "LEGACY_SET",
    "LIFECYCLES",
    "NAMING_CONVENTION",
    "ROLES",
    "SERVED_LIFECYCLES",
    "STATUSES",
    "STATUS_RANKS",
    "WARDS_2025_SET",
    "WARD_LEVELS",
    "ApiKey",
    "Area",
    "AreaBoundary",
    "AreaLevel",
    "Base",
    "Camera",
    "CameraChange",
    "CameraHealth",
    "CameraKind",
    "CameraState",
    "CameraStatus",
    "ConsoleSession",
    "DeliveryState",
    "DeviceCredential",
    "Gateway",
    "GatewayKind",
    "GatewayState",
    "HealthMeta",
    "Heartbeat",
    "HeartbeatMetrics",
    "Incident",
    "IncidentKind",
    "IncidentState",
    "Lifecycle",
    "Role",
    "StatusEvent",
    "Webhook",
    "WebhookChange",
    "WebhookDelivery",
]
