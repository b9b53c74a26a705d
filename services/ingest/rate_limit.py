"""The per-camera rate limit: a token bucket per camera, in process (one per worker)."""

import uuid


class RateLimiter:
    """A token bucket per camera: `rate` heartbeats per second sustained, `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[uuid.UUID, list[float]] = {}

    def take(self, key: uuid.UUID, now: float) -> float:
        """0 when a heartbeat may pass (and spend a token), else the seconds until one may."""
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def refund(self, key: uuid.UUID) -> None:
        """Give a token back (the heartbeat was not stored through no fault of the camera)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket[0] = min(self.burst, bucket[0] + 1.0)

    def prune(self, now: float) -> int:
        """Drop buckets that have refilled completely (they hold no state worth keeping)."""
        full_after = self.burst / self.rate
        stale = [key for key, (_, last) in self._buckets.items() if now - last >= full_after]
        for key in stale:
            del self._buckets[key]
        return len(stale)
