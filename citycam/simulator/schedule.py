"""When each device reports: a heap of due times driven by the scenario, with no clock or I/O of its own."""

import heapq
import random
from dataclasses import dataclass, field

from citycam.simulator.fleet import Fleet
from citycam.simulator.scenarios import Scenario

CAMERA = "camera"
GATEWAY = "gateway"


@dataclass(frozen=True)
class Single:
    """One camera's own heartbeat."""

    camera: int
    degraded: bool
    due: float


@dataclass(frozen=True)
class Batch:
    """One gateway's batch for the cameras behind it that are alive at that moment."""

    gateway: int
    items: tuple[tuple[int, bool], ...]  # (camera index, degraded)
    due: float


@dataclass
class Schedule:
    """Every directly reporting camera and every gateway, each due at its own interval from a random phase."""

    fleet: Fleet
    scenario: Scenario
    seed: int = 7
    _heap: list[tuple[float, int, str, int]] = field(default_factory=list, init=False)
    _next: dict[tuple[str, int], float] = field(default_factory=dict, init=False)
    _seq: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        for index in self.fleet.direct_cameras():
            self._push(CAMERA, index, rng.uniform(0, self.fleet.cameras[index].heartbeat_interval_s))
        for index, gateway in enumerate(self.fleet.gateways):
            self._push(GATEWAY, index, rng.uniform(0, gateway.heartbeat_interval_s))

    def _push(self, kind: str, index: int, due: float) -> None:
        self._seq += 1
        self._next[(kind, index)] = due
        heapq.heappush(self._heap, (due, self._seq, kind, index))

    def next_due(self) -> float | None:
        """When the earliest device is due (None when nothing is scheduled)."""
        while self._heap:
            due, _, kind, index = self._heap[0]
            if self._next.get((kind, index)) == due:
                return due
            heapq.heappop(self._heap)  # superseded by a retry
        return None

    def retry(self, kind: str, index: int, at: float) -> None:
        """Bring a device's next attempt forward to `at` (after a 503 or 429 with Retry-After, say)."""
        if at < self._next.get((kind, index), float("inf")):
            self._push(kind, index, at)

    def due(self, now: float) -> list[Single | Batch]:
        """Everything due up to now, in due order; each device is rescheduled as the scenario says."""
        out: list[Single | Batch] = []
        while True:
            first = self.next_due()
            if first is None or first > now:
                return out
            due, _, kind, index = heapq.heappop(self._heap)
            if kind == CAMERA:
                interval = self.fleet.cameras[index].heartbeat_interval_s
                verdict = self.scenario.camera(index, due)
                if verdict.send:
                    out.append(Single(camera=index, degraded=verdict.degraded, due=due))
            else:
                gateway = self.fleet.gateways[index]
                interval = gateway.heartbeat_interval_s
                verdict = self.scenario.gateway(index, due)
                if verdict.send:
                    items = []
                    for camera in gateway.cameras:
                        v = self.scenario.camera(camera, due)
                        if v.send:
                            items.append((camera, v.degraded))
                    if items:
                        out.append(Batch(gateway=index, items=tuple(items), due=due))
            if not verdict.send and verdict.retry_at is not None:
                self._push(kind, index, verdict.retry_at)
            else:
                self._push(kind, index, due + interval)
