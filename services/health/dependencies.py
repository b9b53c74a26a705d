"""Annotated dependencies of the health routes."""

from typing import Annotated, Any

from fastapi import Depends, Query

from shared.auth import Principal, require_role
from shared.models import CameraKind

WEBHOOK_MANAGERS = frozenset({"admin", "operator"})

# Operators run the alarm routing of the operations centre, so they (and admins) manage webhooks.
WebhookManager = Annotated[Principal, Depends(require_role(WEBHOOK_MANAGERS, "manage health webhooks"))]
# Operators staff the wall, so they (and admins) acknowledge incidents; a monitor only watches.
INCIDENT_ACKERS = frozenset({"admin", "operator"})
IncidentAcker = Annotated[Principal, Depends(require_role(INCIDENT_ACKERS, "acknowledge incidents"))]

Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Code = Annotated[str | None, Query(min_length=1, max_length=32)]


def camera_filters(
    status: Annotated[
        list[str] | None,
        Query(
            max_length=5,
            description="online, degraded, offline, unknown or maintenance; repeat or comma-separate for several",
        ),
    ] = None,
    district: Code = None,
    ward: Code = None,
    vendor: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    model: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    kind: CameraKind | None = None,
    owner: Text = None,
    gateway: Annotated[str | None, Query(min_length=1, max_length=64, description="Gateway id or code")] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    flapping: bool | None = None,
    incident_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    """The filters shared by the camera list, the map and service discovery."""
    return {
        "status": [s[:32] for s in status] if status else None,
        "district": district,
        "ward": ward,
        "vendor": vendor,
        "model": model,
        "kind": kind,
        "owner": owner,
        "gateway": gateway,
        "tag": tag,
        "flapping": flapping,
        "incident_id": incident_id,
    }


CameraFilters = Annotated[dict[str, Any], Depends(camera_filters)]
