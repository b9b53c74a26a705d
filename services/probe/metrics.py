"""The agent's Prometheus metrics, in a registry of its own (served on its local port)."""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

PROBES = Counter(
    "citycam_probe_probes_total",
    "Checks by tier (rtsp, onvif, stream) and result (ok, an error code, no_answer, ...).",
    ["tier", "result"],
    registry=REGISTRY,
)
NO_ANSWER = Counter(
    "citycam_probe_no_answer_total",
    "RTSP checks that got no answer after the retry, by why (refused, connect_timeout, timeout, reset, ...).",
    ["kind"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "citycam_probe_latency_seconds",
    "Time of one check, retries included, by tier.",
    ["tier"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
CYCLE_LAG = Histogram(
    "citycam_probe_cycle_lag_seconds",
    "How late a check started against its camera's fixed slot in the interval.",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
SKIPPED = Counter(
    "citycam_probe_skipped_total",
    "Checks not started because the camera's previous check of that tier was still running.",
    ["tier"],
    registry=REGISTRY,
)
BATCHES = Counter(
    "citycam_probe_batches_total",
    "Heartbeat batches sent to ingest, by result (200, another HTTP status, or error).",
    ["result"],
    registry=REGISTRY,
)
BATCH_ITEMS = Counter(
    "citycam_probe_batch_items_total",
    "Heartbeats by the status ingest gave each (202 stored; dropped: stale or refused batch).",
    ["status"],
    registry=REGISTRY,
)
CAMERAS = Gauge("citycam_probe_cameras", "Cameras this agent checks.", registry=REGISTRY)
IN_FLIGHT = Gauge("citycam_probe_in_flight", "Checks running now.", registry=REGISTRY)
QUEUED = Gauge("citycam_probe_queued_heartbeats", "Heartbeats waiting to be sent.", registry=REGISTRY)
CONCURRENCY = Gauge("citycam_probe_concurrency_cap", "The global cap on checks at once.", registry=REGISTRY)


def render() -> tuple[bytes, str]:
    """The agent's metrics in Prometheus text format, with the content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
