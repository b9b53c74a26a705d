"""Heartbeat bodies as a healthy or a troubled camera would send them."""

import random
from datetime import UTC, datetime
from typing import Any


def heartbeat(rng: random.Random, *, degraded: bool, uptime_s: int, firmware: str | None = None) -> dict[str, Any]:
    """One heartbeat body (the fields of POST /v1/heartbeats)."""
    body: dict[str, Any] = {
        "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "uptime_s": uptime_s,
        "temperature_c": round(rng.uniform(34.0, 52.0), 1),
        "storage_free_pct": round(rng.uniform(35.0, 90.0), 1),
    }
    if degraded:
        body.update(
            fps=round(rng.uniform(1.0, 6.0), 1),
            bitrate_kbps=round(rng.uniform(150.0, 700.0), 0),
            packet_loss_pct=round(rng.uniform(8.0, 30.0), 1),
            errors=["stream_stalled"],
        )
    else:
        body.update(
            fps=round(rng.uniform(24.0, 25.0), 1),
            bitrate_kbps=round(rng.uniform(3500.0, 4500.0), 0),
            packet_loss_pct=round(rng.uniform(0.0, 0.4), 2),
            errors=[],
        )
    if firmware:
        body["firmware"] = firmware
    return body
