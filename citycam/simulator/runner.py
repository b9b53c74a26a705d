"""The heartbeat loop: devices report at their intervals as the scenario says, over the ingest API."""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from citycam.simulator.client import Credentials
from citycam.simulator.fleet import Fleet
from citycam.simulator.payloads import heartbeat
from citycam.simulator.scenarios import Scenario
from citycam.simulator.schedule import CAMERA, GATEWAY, Batch, Schedule, Single
from citycam.simulator.stats import RunStats

log = logging.getLogger(__name__)

TICK_S = 0.05
DRAIN_S = 5.0


@dataclass
class RunOptions:
    ingest_url: str
    duration_s: float
    concurrency: int = 128
    seed: int = 7
    # The length the scenario's timeline is laid out over (defaults to duration_s; the demo runs
    # until Ctrl-C but tells its story over half an hour).
    story_s: float | None = None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class Runner:
    """Drives a Schedule against the ingest service and keeps RunStats."""

    def __init__(self, fleet: Fleet, creds: Credentials, scenario: Scenario, options: RunOptions) -> None:
        self.fleet = fleet
        self.creds = creds
        self.scenario = scenario
        self.options = options
        self.stats = RunStats()
        self.started = 0.0
        self.rng = random.Random(options.seed)
        self._slots = asyncio.Semaphore(options.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        scenario.prepare(fleet, random.Random(options.seed), options.story_s or options.duration_s)
        # Cameras without a token (refused at registration) stay silent.
        self.schedule = Schedule(fleet, scenario, seed=options.seed)

    def elapsed(self) -> float:
        """Seconds since the heartbeat phase began."""
        return time.monotonic() - self.started if self.started else 0.0

    def status(self) -> str:
        """The live one-line status."""
        event = self.scenario.describe(self.elapsed())
        line = f"t={self.elapsed():5.0f}s/{self.options.duration_s:.0f}s {self.stats.status_line()}"
        return f"{line} | {event}" if event else line

    async def _post(self, client: httpx.AsyncClient, url: str, token: str, body: Any) -> httpx.Response | None:
        items = len(body.get("heartbeats", [None]))
        try:
            return await client.post(url, json=body, headers={"authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            self.stats.reject(f"transport:{type(exc).__name__}", items)
            return None
        except asyncio.CancelledError:
            # Sent (and counted) but the run ended before the reply: neither accepted nor refused.
            self.stats.reject("unanswered at stop", items)
            raise

    async def _single(self, client: httpx.AsyncClient, send: Single) -> None:
        camera = self.fleet.cameras[send.camera]
        token = self.creds.camera_tokens.get(camera.code)
        if token is None:
            return
        body = heartbeat(self.rng, degraded=send.degraded, uptime_s=int(3600 + send.due), firmware=camera.firmware)
        self.stats.requests += 1
        self.stats.heartbeats += 1
        started = time.perf_counter()
        response = await self._post(client, "/v1/heartbeats", token, body)
        if response is None:
            return
        self.stats.single_ms.add((time.perf_counter() - started) * 1000)
        if response.status_code == 202:
            self.stats.accepted += 1
            return
        self.stats.reject(str(response.status_code))
        wait = _retry_after(response)
        if response.status_code in (429, 503) and wait is not None:
            self.schedule.retry(CAMERA, send.camera, self.elapsed() + wait)

    async def _batch(self, client: httpx.AsyncClient, send: Batch) -> None:
        gateway = self.fleet.gateways[send.gateway]
        token = self.creds.gateway_tokens.get(gateway.code)
        if token is None:
            return
        items = []
        for index, degraded in send.items:
            camera = self.fleet.cameras[index]
            if camera.code in self.creds.rejected:
                continue
            item = heartbeat(self.rng, degraded=degraded, uptime_s=int(3600 + send.due), firmware=camera.firmware)
            item["camera"] = camera.code
            items.append(item)
        if not items:
            return
        self.stats.requests += 1
        self.stats.heartbeats += len(items)
        started = time.perf_counter()
        response = await self._post(client, "/v1/heartbeats/batch", token, {"heartbeats": items})
        if response is None:
            return
        self.stats.batch_ms.add((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            self.stats.reject(f"batch:{response.status_code}", len(items))
            wait = _retry_after(response)
            if response.status_code in (429, 503) and wait is not None:
                self.schedule.retry(GATEWAY, send.gateway, self.elapsed() + wait)
            return
        for result in response.json().get("results", []):
            status = result.get("status")
            if status == 202:
                self.stats.accepted += 1
            else:
                self.stats.reject(f"item:{status}")

    async def _dispatch(self, client: httpx.AsyncClient, send: Single | Batch) -> None:
        self.stats.in_flight += 1
        try:
            async with self._slots:
                if isinstance(send, Single):
                    await self._single(client, send)
                else:
                    await self._batch(client, send)
        except Exception as exc:  # one bad reply must not stop the fleet
            self.stats.reject(f"error:{type(exc).__name__}")
            log.debug("send failed", exc_info=True)
        finally:
            self.stats.in_flight -= 1

    async def run(self, stop: asyncio.Event, on_tick: Callable[[], None] | None = None) -> RunStats:
        """Send until the duration is over or `stop` is set, then wait briefly for what is in flight."""
        limits = httpx.Limits(
            max_connections=self.options.concurrency, max_keepalive_connections=self.options.concurrency
        )
        async with httpx.AsyncClient(base_url=self.options.ingest_url, limits=limits, timeout=15) as client:
            self.started = time.monotonic()
            while not stop.is_set():
                now = self.elapsed()
                if now >= self.options.duration_s:
                    break
                for send in self.schedule.due(now):
                    task = asyncio.create_task(self._dispatch(client, send))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if on_tick is not None:
                    on_tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), TICK_S)
            if self._tasks:
                _, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_S)
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.gather(*pending, return_exceptions=True)
        return self.stats
