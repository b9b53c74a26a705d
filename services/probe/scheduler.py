"""When each check runs, and how many run at once.

- Each camera has a fixed slot in its interval, from a hash of its id: 10,000 cameras at 30 s are a
  steady 333 checks a second, not a burst every 30 s, and the slots survive a restart (they are
  phases of the wall clock). The ONVIF and stream tiers use the same slot in their own periods.
- A global cap on checks at once, sized from the fleet: probe rate x the longest wait of one attempt
  x attempts x 1.5 (10,000 cameras at 30 s with 3 s limits and one retry: 3,000). At that size a whole
  segment going dark (every check waiting out its time limit) still leaves room for the rest, so
  the cycle is never stalled by cameras that do not answer.
- A per-host cap, so one NVR serving 64 channels from one address gets a few requests at a time.
- A check waits for its host first and only then for a global slot, so cameras queued behind a busy
  NVR hold no global slot; a camera whose previous check is still running skips its turn.
- Cameras that stay dead are checked less often: after `backoff_after_failures` misses in a row, the
  interval doubles with each miss, up to `backoff_max_s`. They get no heartbeat either way.
"""

import asyncio
import hashlib
import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from services.probe import metrics
from services.probe.credentials import CameraSite, Site
from services.probe.onvif import OnvifClock
from services.probe.rtsp import AuthMemory, StreamAddress
from services.probe.schemas import CameraTarget, Heartbeat
from services.probe.service import RtspResult, StreamState, heartbeat, probe_onvif, probe_rtsp, probe_stream
from services.probe.settings import ProbeSettings

log = logging.getLogger(__name__)

RTSP, ONVIF, STREAM = "rtsp", "onvif", "stream"


def slot(camera_id: str) -> float:
    """The camera's fixed place in any period, in [0, 1)."""
    digest = hashlib.blake2b(camera_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def next_slot(period: float, phase: float, after: float) -> float:
    """The first wall-clock time later than `after` at `phase` (0-1) of `period`."""
    offset = phase * period
    return (math.floor((after - offset) / period) + 1) * period + offset


def concurrency_for(rate_per_s: float, settings: ProbeSettings) -> int:
    """The global cap for this probe rate (checks a second)."""
    if settings.max_concurrency:
        return settings.max_concurrency
    wait = max(settings.connect_timeout_s, settings.request_timeout_s)
    return max(16, math.ceil(rate_per_s * wait * (settings.retries + 1) * 1.5))


class Limiter:
    """A semaphore whose size can change while it is in use."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def resize(self, limit: int) -> None:
        """Change the size; waiters are let in if it grew."""
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.used += 1
                waiter.set_result(None)

    async def acquire(self) -> None:
        """Take a place, waiting when all are used."""
        if self.used < self.limit and not self._waiters:
            self.used += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise

    def release(self) -> None:
        """Give a place back."""
        self.used -= 1
        self._wake()


@dataclass
class Camera:
    """One camera as the agent checks it."""

    target: CameraTarget
    site: CameraSite
    address: StreamAddress | None
    substream: StreamAddress | None
    describe: bool
    phase: float
    generation: int = 0
    failures: int = 0
    rtsp: RtspResult | None = None
    onvif: OnvifClock | None = None
    stream: StreamState = field(default_factory=StreamState)
    running: set[str] = field(default_factory=set)
    last_heartbeat: Heartbeat | None = None

    @property
    def host(self) -> str:
        """The address the per-host cap counts (an NVR's channels share one)."""
        return self.address.host if self.address else (self.target.ip or self.target.code)


def build_camera(target: CameraTarget, site: Site) -> Camera:
    """A camera from its registry entry and the agency's local file."""
    local = site.for_camera(target)
    address: StreamAddress | None = None
    describe = False
    if target.stream_url:
        try:
            address, describe = StreamAddress.parse(target.stream_url), True
        except ValueError:
            log.warning("stream URL is not rtsp://", extra={"camera": target.code})
    if address is None and target.ip:
        host = f"[{target.ip}]" if ":" in target.ip else target.ip
        address = StreamAddress.parse(f"rtsp://{host}/")  # OPTIONS only: no path to DESCRIBE
    substream = address if describe else None
    if local.substream_url:
        try:
            substream = StreamAddress.parse(local.substream_url)
        except ValueError:
            log.warning("substream URL is not rtsp://", extra={"camera": target.code})
    return Camera(target, local, address, substream, describe, slot(target.id))


Report = Callable[[Heartbeat, float], None]


class Scheduler:
    """Runs every camera's checks at their slots within the caps, and reports what answered."""

    def __init__(
        self,
        settings: ProbeSettings,
        *,
        report: Report,
        http: httpx.AsyncClient,
        ffmpeg: str | None,
    ) -> None:
        self.settings = settings
        self.report = report
        self.http = http
        self.ffmpeg = ffmpeg
        self.memory = AuthMemory()
        self.cameras: dict[str, Camera] = {}
        self.limiter = Limiter(16)
        self.stream_limiter = Limiter(settings.stream_concurrency)
        self.hosts: dict[str, Limiter] = {}
        self._heap: list[tuple[float, int, str, str, int]] = []
        self._seq = 0
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopping = False
        # Monotonic and wall clock tied once: slots are wall-clock phases, waits are monotonic.
        self._wall_minus_mono = time.time() - time.monotonic()
        self.rate_per_s = 0.0

    # --- the fleet

    def set_targets(self, targets: list[CameraTarget], site: Site) -> None:
        """Adopt a new camera list: new cameras get their slots, gone ones stop, changed ones restart."""
        wanted = {t.id: t for t in targets if t.lifecycle != "decommissioned"}
        for cid in list(self.cameras):
            if cid not in wanted:
                del self.cameras[cid]
        for cid, target in wanted.items():
            old = self.cameras.get(cid)
            if old is not None and old.target == target:
                continue
            camera = build_camera(target, site)
            if old is not None:
                camera.generation = old.generation + 1
                camera.stream, camera.running = old.stream, old.running
            self.cameras[cid] = camera
            self._schedule_first(camera)
        self.rate_per_s = sum(1 / c.target.heartbeat_interval_s for c in self.cameras.values())
        self.limiter.resize(concurrency_for(self.rate_per_s, self.settings))
        metrics.CAMERAS.set(len(self.cameras))
        metrics.CONCURRENCY.set(self.limiter.limit)
        self._wakeup.set()

    def _period(self, camera: Camera, tier: str) -> float:
        if tier == ONVIF:
            return self.settings.onvif_every_s
        if tier == STREAM:
            return self.settings.stream_recheck_s if camera.stream.history.in_doubt else self.settings.stream_every_s
        return float(camera.target.heartbeat_interval_s)

    def _push(self, due_mono: float, camera: Camera, tier: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due_mono, self._seq, camera.target.id, tier, camera.generation))

    def _schedule_first(self, camera: Camera) -> None:
        now_wall = time.monotonic() + self._wall_minus_mono
        tiers = [RTSP]
        if camera.site.onvif_url:
            tiers.append(ONVIF)
        if camera.substream is not None:
            tiers.append(STREAM)
        for tier in tiers:
            due = next_slot(self._period(camera, tier), camera.phase, now_wall) - self._wall_minus_mono
            self._push(due, camera, tier)

    def _schedule_next(self, camera: Camera, tier: str, due: float) -> None:
        period = self._period(camera, tier)
        if tier == RTSP and camera.failures >= self.settings.backoff_after_failures:
            doublings = camera.failures - self.settings.backoff_after_failures + 1
            period = min(period * 2 ** min(doublings, 16), max(period, self.settings.backoff_max_s))
        nxt = due + period
        if nxt < time.monotonic() - period:  # far behind (a suspended machine): realign to the slot
            nxt = next_slot(period, camera.phase, time.time()) - self._wall_minus_mono
        self._push(nxt, camera, tier)

    # --- running

    async def run(self) -> None:
        """Dispatch due checks until stop()."""
        while not self.stopping:
            now = time.monotonic()
            if not self._heap or self._heap[0][0] > now + 0.002:
                wait = min(self._heap[0][0] - now, 1.0) if self._heap else 1.0
                self._wakeup.clear()
                try:
                    async with asyncio.timeout(max(wait, 0.0)):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass
                continue
            while self._heap and self._heap[0][0] <= now + 0.002:
                due, _, cid, tier, generation = heapq.heappop(self._heap)
                camera = self.cameras.get(cid)
                if camera is None or camera.generation != generation:
                    continue
                self._schedule_next(camera, tier, due)
                if tier in camera.running:
                    metrics.SKIPPED.labels(tier).inc()
                    continue
                self._start(camera, tier, due)

    def _start(self, camera: Camera, tier: str, due: float) -> None:
        camera.running.add(tier)
        task = asyncio.create_task(self._guarded(camera, tier, due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, camera: Camera, tier: str, due: float | None) -> None:
        host = self.hosts.get(camera.host)
        if host is None:
            host = self.hosts[camera.host] = Limiter(self.settings.per_host_concurrency)
        limiter = self.stream_limiter if tier == STREAM else self.limiter
        await host.acquire()
        try:
            await limiter.acquire()
            try:
                if due is not None and tier == RTSP:
                    metrics.CYCLE_LAG.observe(max(0.0, time.monotonic() - due))
                metrics.IN_FLIGHT.inc()
                started = time.perf_counter()
                try:
                    await self.check(camera, tier)
                except Exception:  # one camera's surprise must never stop the others
                    log.exception("check failed", extra={"camera": camera.target.code, "tier": tier})
                    metrics.PROBES.labels(tier, "internal_error").inc()
                finally:
                    metrics.IN_FLIGHT.dec()
                    metrics.LATENCY.labels(tier).observe(time.perf_counter() - started)
            finally:
                limiter.release()
        finally:
            host.release()
            camera.running.discard(tier)

    async def check(self, camera: Camera, tier: str) -> None:
        """Run one tier's check of one camera now, and report the camera when the RTSP tier ran."""
        settings = self.settings
        if tier == ONVIF and camera.site.onvif_url:
            camera.onvif = await probe_onvif(self.http, camera.site.onvif_url, settings=settings)
            metrics.PROBES.labels(ONVIF, "ok" if camera.onvif.reachable else "onvif_unreachable").inc()
            return
        if tier == STREAM and camera.substream is not None:
            sample = await probe_stream(
                camera.substream,
                camera.stream,
                credentials=camera.site.credentials,
                memory=self.memory,
                settings=settings,
                ffmpeg=self.ffmpeg,
            )
            flagged = camera.stream.history.flagged
            metrics.PROBES.labels(STREAM, "failed" if sample is None else flagged.value if flagged else "ok").inc()
            return
        if tier != RTSP or camera.address is None:
            return
        result = await probe_rtsp(
            camera.address,
            credentials=camera.site.credentials,
            memory=self.memory,
            settings=settings,
            describe=camera.describe,
        )
        self._observe(camera, result)
        hb = heartbeat(
            camera.target.id,
            result,
            onvif_clock=camera.onvif,
            onvif_configured=camera.site.onvif_url is not None,
            stream=camera.stream,
            max_skew_s=settings.max_clock_skew_s,
        )
        camera.last_heartbeat = hb
        if hb is not None:
            self.report(hb, float(camera.target.heartbeat_interval_s))

    def _observe(self, camera: Camera, result: RtspResult) -> None:
        before = camera.rtsp
        camera.rtsp = result
        camera.failures = 0 if result.alive else camera.failures + 1
        metrics.PROBES.labels(RTSP, result.result).inc()
        if result.no_answer:
            metrics.NO_ANSWER.labels(result.no_answer).inc()
        if before is None or before.result != result.result:
            log.info(
                "camera check result changed",
                extra={
                    "camera": camera.target.code,
                    "from": before.result if before else None,
                    "to": result.result,
                    "detail": result.detail,
                },
            )

    async def once(self, tiers: tuple[str, ...]) -> None:
        """Every camera's checks once, now, within the caps (ONVIF and stream before RTSP, so the
        heartbeat reported carries their findings)."""
        for tier in tiers:
            if tier == RTSP:
                continue
            await asyncio.gather(*(self._guarded(c, tier, None) for c in self.cameras.values()))
        if RTSP in tiers:
            await asyncio.gather(*(self._guarded(c, RTSP, None) for c in self.cameras.values()))

    def stop(self) -> None:
        """Stop dispatching; checks already running finish (see drain)."""
        self.stopping = True
        self._wakeup.set()

    async def drain(self, timeout: float) -> None:
        """Wait for running checks, cancelling what is left after timeout."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
