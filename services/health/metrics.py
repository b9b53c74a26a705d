"""Health metrics: camera gauges by status and district (bounded labels), evaluator and stream figures."""

from collections.abc import Iterable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

EVALUATION_SECONDS = Histogram(
    "citycam_health_evaluation_seconds",
    "Duration of one evaluator pass: full (every camera) or incremental (what can have changed since).",
    ["pass"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TRANSITIONS = Counter("citycam_health_transitions_total", "Status transitions recorded by this process as leader.")
LEADER = Gauge("citycam_health_evaluator_leader", "1 while this process holds the evaluator lock.")
STALE = Gauge("citycam_health_ingest_stale", "1 while the stale-ingest guard holds.")
SSE_CLIENTS = Gauge("citycam_health_stream_clients", "Connected Server-Sent Events clients.")
WEBHOOK_ATTEMPTS = Counter(
    "citycam_health_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"]
)


class CameraCollector(Collector):
    """citycam_cameras{status, district}: refreshed from camera_health before each scrape."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int]] = []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "citycam_cameras", "Monitored cameras by status and district.", labels=["status", "district"]
        )
        for status, district, n in self.rows:
            family.add_metric([status, district], n)
        yield family


CAMERAS = CameraCollector()
REGISTRY.register(CAMERAS)
