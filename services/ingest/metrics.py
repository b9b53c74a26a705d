"""Ingest metrics. Labelled children are resolved once here; the hot path's counters are bumped in
a plain dict, and its histogram observations counted in plain per-bucket lists, and both are added to
Prometheus by `publish()` (every second, and before each /metrics scrape), because a prometheus-client
increment costs a lock and, in multiprocess mode, an mmap write (two per histogram observation)."""

from bisect import bisect_left
from collections import defaultdict
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

ACCEPTED = Counter(
    "citycam_ingest_heartbeats_accepted_total",
    "Heartbeats committed, by endpoint (single or batch).",
    ["endpoint"],
)
REJECTED = Counter(
    "citycam_ingest_heartbeats_rejected_total",
    "Heartbeats refused, by endpoint and reason.",
    ["endpoint", "reason"],
)
GROUP_SIZE = Histogram(
    "citycam_ingest_group_commit_rows",
    "Rows committed per group-commit transaction.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 350, 500, 1000, 2000),
)
COMMIT_SECONDS = Histogram(
    "citycam_ingest_commit_seconds",
    "Latency of one group-commit transaction.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CLOCK_SKEW = Histogram(
    "citycam_ingest_clock_skew_seconds",
    "Absolute difference between a heartbeat's sent_at and the server's received_at.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400),
)
CLOCK_AHEAD = Counter(
    "citycam_ingest_clock_ahead_total",
    "Heartbeats whose sent_at was later than received_at (device clock ahead of the server).",
)
TOKEN_CACHE = Counter(
    "citycam_ingest_token_cache_total",
    "Device-token look-ups by result: hit (answered in process) or miss (looked up in Postgres).",
    ["result"],
)
TOKEN_CACHE_HIT_RATIO = Gauge(
    "citycam_ingest_token_cache_hit_ratio",
    "Share of device-token look-ups answered from the in-process cache since the process started.",
    multiprocess_mode="liveall",
)
TOKEN_CACHE_INVALIDATIONS = Counter(
    "citycam_ingest_token_cache_invalidations_total",
    "Cache invalidations, by cause (notify, flush when the listening connection dropped).",
    ["cause"],
)
RETENTION_RUNS = Counter(
    "citycam_ingest_retention_runs_total",
    "Runs of the partition retention job, by outcome (done, skipped when another replica held the lock, failed).",
    ["outcome"],
)


class Observations:
    """A histogram's observations counted per bucket in process, added to it by publish()."""

    __slots__ = ("_bounds", "_counts", "_histogram", "_sum")

    def __init__(self, histogram: Any) -> None:
        # An unlabelled Histogram or a labelled child: both keep their buckets in these attributes.
        self._histogram = histogram
        self._bounds: list[float] = list(histogram._upper_bounds)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        _observations.append(self)

    def observe(self, value: float) -> None:
        """Count one observation (value <= bound lands in that bound's bucket, as prometheus-client does)."""
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def publish(self) -> None:
        """Add the counted observations to the histogram."""
        counts = self._counts
        if not any(counts):
            return
        self._counts = [0] * len(counts)
        total, self._sum = self._sum, 0.0
        buckets = self._histogram._buckets
        for index, count in enumerate(counts):
            if count:
                buckets[index].inc(count)
        self._histogram._sum.inc(total)


_observations: list[Observations] = []

CLOCK_SKEW_OBS = Observations(CLOCK_SKEW)
GROUP_SIZE_OBS = Observations(GROUP_SIZE)
COMMIT_SECONDS_OBS = Observations(COMMIT_SECONDS)

ACCEPTED_SINGLE = ACCEPTED.labels("single")
ACCEPTED_BATCH = ACCEPTED.labels("batch")
CACHE_HIT = TOKEN_CACHE.labels("hit")
CACHE_MISS = TOKEN_CACHE.labels("miss")

REASONS = (
    "unauthorized",
    "forbidden",
    "invalid",
    "too_large",
    "unsupported_media_type",
    "rate_limited",
    "unavailable",
)
_REJECTED = {
    (endpoint, reason): REJECTED.labels(endpoint, reason) for endpoint in ("single", "batch") for reason in REASONS
}


def rejected(endpoint: str, reason: str, count: int = 1) -> None:
    """Count refused heartbeats."""
    _pending[_REJECTED[(endpoint, reason)]] += count


_pending: defaultdict[Any, int] = defaultdict(int)


def bump(child: Any, amount: int = 1) -> None:
    """Count on a counter child, published later by publish()."""
    _pending[child] += amount


def publish() -> None:
    """Add the bumped counts and the counted observations to their Prometheus metrics."""
    for observations in _observations:
        observations.publish()
    if not _pending:
        return
    items = list(_pending.items())
    _pending.clear()
    for child, amount in items:
        child.inc(amount)
