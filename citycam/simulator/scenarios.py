"""What happens to the fleet over time: pure functions of (device, t) so the timing can be tested without HTTP.

t is seconds since the heartbeat phase started; `duration` is the planned length of the run.
"""

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from citycam.simulator.fleet import Fleet

SCENARIOS = ("steady", "failures", "degraded", "flapping", "power-cut", "blip")


@dataclass(frozen=True)
class Verdict:
    """Whether a device sends at t, whether what it reports is degraded, and, when its network is
    down, when it will try again (a device that finds its uplink back reports at once)."""

    send: bool = True
    degraded: bool = False
    retry_at: float | None = None


ALIVE = Verdict()


def _jitter(index: int, salt: str, spread: float) -> float:
    """A stable pseudo-random offset in [0, spread) per device, independent of call order."""
    return (zlib.crc32(f"{salt}:{index}".encode()) % 10_000) / 10_000 * spread


class Scenario:
    """The base: everything is fine, always."""

    name = "steady"

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        """Pick the devices and times this scenario affects."""

    def camera(self, index: int, t: float) -> Verdict:
        """What camera `index` does at t."""
        return ALIVE

    def gateway(self, index: int, t: float) -> Verdict:
        """What gateway `index` does at t."""
        return ALIVE

    def describe(self, t: float) -> str | None:
        """A few words on what is going on at t, for the status line (None when nothing is)."""
        return None


class Failures(Scenario):
    """A share of cameras die at random moments; about half come back a few minutes later."""

    name = "failures"

    def __init__(self, share: float = 0.02) -> None:
        self.share = share
        self.windows: dict[int, tuple[float, float]] = {}

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        count = max(1, round(len(fleet.cameras) * self.share)) if fleet.cameras else 0
        for index in rng.sample(range(len(fleet.cameras)), count):
            start = rng.uniform(0.1, 0.7) * duration
            end = start + rng.uniform(120, 360) if rng.random() < 0.5 else float("inf")
            self.windows[index] = (start, end)

    def camera(self, index: int, t: float) -> Verdict:
        window = self.windows.get(index)
        if window is not None and window[0] <= t < window[1]:
            return Verdict(send=False)
        return ALIVE

    def describe(self, t: float) -> str | None:
        down = sum(1 for start, end in self.windows.values() if start <= t < end)
        return f"{down} failed" if down else None


class Degraded(Scenario):
    """A share of cameras start reporting trouble (low fps, packet loss) at random moments."""

    name = "degraded"

    def __init__(self, share: float = 0.05) -> None:
        self.share = share
        self.starts: dict[int, float] = {}

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        count = max(1, round(len(fleet.cameras) * self.share)) if fleet.cameras else 0
        for index in rng.sample(range(len(fleet.cameras)), count):
            self.starts[index] = rng.uniform(0.0, 0.5) * duration

    def camera(self, index: int, t: float) -> Verdict:
        start = self.starts.get(index)
        return Verdict(degraded=True) if start is not None and t >= start else ALIVE

    def describe(self, t: float) -> str | None:
        bad = sum(1 for start in self.starts.values() if t >= start)
        return f"{bad} degraded" if bad else None


class Flapping(Scenario):
    """A share of directly reporting cameras go silent for 4 intervals, then report for 3, over and over."""

    name = "flapping"
    DOWN_INTERVALS = 4
    UP_INTERVALS = 3

    def __init__(self, share: float = 0.01) -> None:
        self.share = share
        self.cycles: dict[int, tuple[float, float]] = {}  # index -> (period, phase)

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        direct = fleet.direct_cameras()
        count = max(1, round(len(fleet.cameras) * self.share)) if direct else 0
        for index in rng.sample(direct, min(count, len(direct))):
            period = fleet.cameras[index].heartbeat_interval_s * (self.DOWN_INTERVALS + self.UP_INTERVALS)
            self.cycles[index] = (period, rng.uniform(0, period))

    def camera(self, index: int, t: float) -> Verdict:
        cycle = self.cycles.get(index)
        if cycle is None:
            return ALIVE
        period, phase = cycle
        position = (t + phase) % period
        down_for = period * self.DOWN_INTERVALS / (self.DOWN_INTERVALS + self.UP_INTERVALS)
        return Verdict(send=False) if position < down_for else ALIVE

    def describe(self, t: float) -> str | None:
        return f"{len(self.cycles)} flapping" if self.cycles else None


class PowerCut(Scenario):
    """One ward loses power: the biggest NVR and every camera behind it go dark for a while."""

    name = "power-cut"

    def __init__(self, at: float | None = None, length: float | None = None) -> None:
        self.at = at
        self.length = length
        self.gateway_index: int | None = None
        self.cameras: frozenset[int] = frozenset()
        self.label = ""

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        if self.at is None:
            self.at = 0.2 * duration
        if self.length is None:
            self.length = 0.5 * duration
        if not fleet.gateways:
            return
        biggest = max(len(g.cameras) for g in fleet.gateways)
        candidates = [i for i, g in enumerate(fleet.gateways) if len(g.cameras) == biggest]
        self.gateway_index = rng.choice(candidates)
        gateway = fleet.gateways[self.gateway_index]
        self.cameras = frozenset(gateway.cameras)
        self.label = gateway.code

    def _dark(self, t: float) -> bool:
        assert self.at is not None and self.length is not None
        return self.at <= t < self.at + self.length

    def camera(self, index: int, t: float) -> Verdict:
        return Verdict(send=False) if index in self.cameras and self._dark(t) else ALIVE

    def gateway(self, index: int, t: float) -> Verdict:
        return Verdict(send=False) if index == self.gateway_index and self._dark(t) else ALIVE

    def describe(self, t: float) -> str | None:
        if self.gateway_index is not None and self._dark(t):
            return f"power cut {self.label} ({len(self.cameras)} cameras dark)"
        return None


class Blip(Scenario):
    """The city's uplink drops for `length` seconds; every device reconnects within a second of its return."""

    name = "blip"
    RECONNECT_SPREAD_S = 1.0

    def __init__(self, at: float | None = None, length: float = 60.0) -> None:
        self.at = at
        self.length = length

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        if self.at is None:
            self.at = 0.4 * duration

    @property
    def end(self) -> float:
        assert self.at is not None
        return self.at + self.length

    def _verdict(self, index: int, t: float, salt: str) -> Verdict:
        assert self.at is not None
        if self.at <= t < self.end:
            return Verdict(send=False, retry_at=self.end + _jitter(index, salt, self.RECONNECT_SPREAD_S))
        return ALIVE

    def camera(self, index: int, t: float) -> Verdict:
        return self._verdict(index, t, "camera")

    def gateway(self, index: int, t: float) -> Verdict:
        return self._verdict(index, t, "gateway")

    def describe(self, t: float) -> str | None:
        assert self.at is not None
        if self.at <= t < self.end:
            return f"network blip ({self.end - t:.0f}s left)"
        if self.end <= t < self.end + 5:
            return "reconnect burst"
        return None


class Combined(Scenario):
    """Several scenarios at once: a device sends only when all let it, is degraded when any says so."""

    def __init__(self, parts: Sequence[Scenario]) -> None:
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts) or "steady"

    def prepare(self, fleet: Fleet, rng: random.Random, duration: float) -> None:
        for part in self.parts:
            part.prepare(fleet, rng, duration)

    @staticmethod
    def _merge(verdicts: Sequence[Verdict]) -> Verdict:
        if all(v is ALIVE for v in verdicts):
            return ALIVE
        send = all(v.send for v in verdicts)
        degraded = any(v.degraded for v in verdicts)
        retries = [v.retry_at for v in verdicts if not v.send and v.retry_at is not None]
        return Verdict(send=send, degraded=degraded, retry_at=max(retries) if retries and not send else None)

    def camera(self, index: int, t: float) -> Verdict:
        return self._merge([p.camera(index, t) for p in self.parts])

    def gateway(self, index: int, t: float) -> Verdict:
        return self._merge([p.gateway(index, t) for p in self.parts])

    def describe(self, t: float) -> str | None:
        words = [d for p in self.parts if (d := p.describe(t))]
        return ", ".join(words) or None


def build(
    names: Sequence[str],
    *,
    power_cut_at: float | None = None,
    power_cut_length: float | None = None,
    blip_at: float | None = None,
    blip_length: float = 60.0,
) -> Combined:
    """The scenario for a list of names ("all" means every one of them); unset times follow the duration."""
    chosen = list(SCENARIOS) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)} or all")
    parts: list[Scenario] = []
    for name in chosen:
        if name == "failures":
            parts.append(Failures())
        elif name == "degraded":
            parts.append(Degraded())
        elif name == "flapping":
            parts.append(Flapping())
        elif name == "power-cut":
            parts.append(PowerCut(at=power_cut_at, length=power_cut_length))
        elif name == "blip":
            parts.append(Blip(at=blip_at, length=blip_length))
    return Combined(parts=parts)
