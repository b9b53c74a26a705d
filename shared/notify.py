"""LISTEN/NOTIFY channels through which the services tell each other that something changed."""

# Payload: {"kind": "camera"|"gateway", "id": "<uuid>"} — any cached credential or device for it is stale.
DEVICE_CHANGED = "citycam_device_changed"
# Payload: {"id": <status_event id>} — a new status transition was recorded.
STATUS_EVENT = "citycam_status_event"
# Payload: {"id": <incident id>} — an incident was acknowledged or its acknowledgement withdrawn.
INCIDENT_CHANGED = "citycam_incident_changed"
