"""Prometheus metrics every service exposes: requests and latency by route template and status."""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from shared.settings import get_http_settings

HTTP_REQUESTS = Counter(
    "citycam_http_requests_total",
    "HTTP requests by service, method, route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "citycam_http_request_duration_seconds",
    "HTTP request latency by service, method and route template.",
    ["service", "method", "route"],
    buckets=(
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1.0,
        2.5,
        5.0,
        10.0,
    ),
)


def render(registry: CollectorRegistry = DEFAULT_REGISTRY) -> tuple[bytes, str]:
    """The registry in Prometheus text format, with its content type (summed over every worker
    process when PROMETHEUS_MULTIPROC_DIR is set)."""
    if registry is DEFAULT_REGISTRY and get_http_settings().prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """The two HTTP metrics of one service's requests, their labelled children resolved once each
    (a `labels()` call takes a lock and builds a tuple: too dear per heartbeat)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._latencies: dict[tuple[str, str], Histogram] = {}

    def counter(self, method: str, route: str, status: int) -> Counter:
        """The request counter's child for a method, route template and status."""
        key = (method, route, status)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = HTTP_REQUESTS.labels(self.service, method, route, str(status))
        return child

    def latency(self, method: str, route: str) -> Histogram:
        """The latency histogram's child for a method and route template."""
        key = (method, route)
        child = self._latencies.get(key)
        if child is None:
            child = self._latencies[key] = HTTP_LATENCY.labels(self.service, method, route)
        return child

    def record(self, method: str, route: str, status: int, elapsed_s: float) -> None:
        """Count one request and observe its latency."""
        self.counter(method, route, status).inc()
        self.latency(method, route).observe(elapsed_s)
