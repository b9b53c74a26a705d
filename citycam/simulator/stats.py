"""Counters and latency percentiles of a simulator run."""

import math
import random
from collections import Counter
from dataclasses import dataclass, field

MAX_SAMPLES = 200_000


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by nearest rank, or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Reservoir:
    """A bounded uniform sample of latencies (ms)."""

    size: int = MAX_SAMPLES
    seen: int = 0
    values: list[float] = field(default_factory=list)
    _rng: random.Random = field(default_factory=lambda: random.Random(1))

    def add(self, value: float) -> None:
        """Record one latency."""
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
        else:
            slot = self._rng.randrange(self.seen)
            if slot < self.size:
                self.values[slot] = value


@dataclass
class RunStats:
    """What was sent and what came back."""

    requests: int = 0
    heartbeats: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    single_ms: Reservoir = field(default_factory=Reservoir)
    batch_ms: Reservoir = field(default_factory=Reservoir)
    in_flight: int = 0

    def reject(self, reason: str, count: int = 1) -> None:
        """Count `count` heartbeats refused for `reason` (an HTTP status or a transport error)."""
        self.rejected[reason] += count

    def status_line(self) -> str:
        """A compact one-line summary for the live display."""
        rejected = sum(self.rejected.values())
        top = ", ".join(f"{k}:{v}" for k, v in self.rejected.most_common(3))
        p50 = percentile(self.single_ms.values[-2000:], 50)
        p99 = percentile(self.single_ms.values[-2000:], 99)
        lat = f" p50 {p50:.0f}ms p99 {p99:.0f}ms" if p50 is not None and p99 is not None else ""
        return (
            f"sent {self.heartbeats:,} ok {self.accepted:,} rejected {rejected:,}"
            + (f" ({top})" if top else "")
            + f" in-flight {self.in_flight}{lat}"
        )
