"""What an evaluator pass hands on: its result and the watermark the next, incremental, pass starts from.

A module of its own so that what runs after a pass (the webhook outbox, the evaluator loop, the bench)
reads these types without importing the derivation itself.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Watermark:
    """Where a pass left off: what the next, incremental, pass must look at again."""

    wall: datetime
    as_of: datetime
    stale: bool
    # pg_current_snapshot() as text, taken before the pass read anything: what it had seen.
    snapshot: str
    # Where the next pass's sweep starts, in pages of the camera table (a slice can be under a page).
    sweep_position: float


@dataclass(frozen=True)
class Detected:
    """A camera whose verdict moved in this pass: its new timing code and the status it had."""

    camera_id: uuid.UUID
    # 0 maintenance, 1 never reported, 2 offline, 3 late, 4 on time (verdict // 32).
    timing: int
    old_status: str | None
    old_since: datetime | None


@dataclass
class PassResult:
    """What one evaluator pass did."""

    now: datetime
    as_of: datetime
    stale: bool
    newest_heartbeat_at: datetime | None
    full: bool = True
    watermark: Watermark | None = None
    # The cameras an incremental pass derived (a full pass derives them all).
    derived: int | None = None
    changed: int = 0
    events: int = 0
    first_event_id: int | None = None
    last_event_id: int | None = None
    removed: int = 0
    flapping_changed: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    incidents_closed: list[int] = field(default_factory=list)
    # Filled by the evaluator after the pass (services/health/outbox.py), in the same transaction.
    deliveries: int = 0
    backlog: bool = False
    generation: int | None = None
    stages_ms: dict[str, float] = field(default_factory=dict)
    duration_ms: float = 0.0
