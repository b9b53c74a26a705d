"""The agent: its camera list, its scheduler and its reporter, started and stopped together.

It talks to citycam over HTTP only (the registry for the list, ingest for heartbeats), with the
device token of the gateway it is registered as; to citycam it is just another gateway.
"""

import asyncio
import logging
import resource
import time
from dataclasses import dataclass

import httpx

from services.probe import metrics
from services.probe.credentials import Site
from services.probe.picture import ffmpeg_path
from services.probe.reporter import Reporter
from services.probe.scheduler import Scheduler
from services.probe.schemas import Heartbeat
from services.probe.settings import ProbeSettings
from services.probe.targets import FileTargets, RegistryTargets, Targets, TargetsError

log = logging.getLogger(__name__)


class AgentError(Exception):
    """The agent cannot start as configured (the message says what to change)."""


def gateway_token(settings: ProbeSettings) -> str | None:
    """The gateway's device token, from CITYCAM_PROBE_GATEWAY_TOKEN or the file it names."""
    if settings.gateway_token is not None:
        return settings.gateway_token.get_secret_value().strip() or None
    if settings.gateway_token_file is not None:
        try:
            return settings.gateway_token_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise AgentError(f"cannot read the gateway token file: {exc.strerror}") from None
    return None


def fds_needed(concurrency: int, settings: ProbeSettings) -> int:
    """Descriptors the agent may hold at once: a socket per check, a stream read with its ffmpeg
    pipes, the HTTP clients and the margin."""
    return concurrency + settings.stream_concurrency * 4 + settings.per_host_concurrency + settings.fd_margin


def ensure_fd_limit(needed: int) -> int:
    """Raise the soft open-file limit to what is needed (up to the hard limit); AgentError when the
    hard limit is too low. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise AgentError(
            f"the open-file limit is {hard} but the agent needs {needed}: raise it (ulimit -n, LimitNOFILE=, "
            "docker --ulimit nofile=) or lower CITYCAM_PROBE_MAX_CONCURRENCY"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


@dataclass
class Health:
    """What /healthz reports."""

    ok: bool
    cameras: int
    last_refresh_age_s: float | None
    last_batch_ok_age_s: float | None
    detail: str


class Agent:
    """One probe agent."""

    def __init__(self, settings: ProbeSettings, *, report: bool = True) -> None:
        self.settings = settings
        token = gateway_token(settings)
        if settings.targets_file is None and token is None:
            raise AgentError("set CITYCAM_PROBE_GATEWAY_TOKEN (or _FILE): the agent is a gateway and reads its list")
        if report and token is None:
            raise AgentError("reporting needs the gateway token: set CITYCAM_PROBE_GATEWAY_TOKEN (or _FILE)")
        try:
            self.site = Site.load(settings.credentials_file, settings.credentials)
        except Exception as exc:
            raise AgentError(str(exc)) from None
        limits = httpx.Limits(max_connections=max(16, settings.stream_concurrency * 2), max_keepalive_connections=8)
        self.registry = httpx.AsyncClient(base_url=settings.registry_url, timeout=settings.batch_timeout_s)
        self.ingest = httpx.AsyncClient(base_url=settings.ingest_url, timeout=settings.batch_timeout_s)
        self.onvif = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
        self.targets: Targets = (
            FileTargets(settings.targets_file)
            if settings.targets_file is not None
            else RegistryTargets(self.registry, token=token or "")
        )
        self.reporter = (
            Reporter(
                self.ingest,
                token=token or "",
                max_items=settings.batch_max_items,
                every_s=settings.batch_every_s,
                keepalive_s=settings.keepalive_s,
            )
            if report
            else None
        )
        self.ffmpeg = ffmpeg_path(settings.ffmpeg)
        self.scheduler = Scheduler(settings, report=self._report, http=self.onvif, ffmpeg=self.ffmpeg)
        self.last_refresh: float | None = None
        self.refresh_error: str | None = None
        self.started_at: float | None = None
        self._stop = asyncio.Event()

    def _report(self, heartbeat: Heartbeat, valid_s: float) -> None:
        if self.reporter is not None:
            self.reporter.put(heartbeat, valid_s=valid_s)

    async def refresh(self) -> bool:
        """Fetch the camera list; True when it changed. Keeps the old list when the fetch fails."""
        try:
            targets = await self.targets.fetch()
        except TargetsError as exc:
            if self.refresh_error != str(exc):
                log.error("camera list not refreshed", extra={"why": str(exc)})
            self.refresh_error = str(exc)
            return False
        self.refresh_error = None
        self.last_refresh = time.time()
        if targets is None:
            return False
        self.scheduler.set_targets(targets, self.site)
        limit = ensure_fd_limit(fds_needed(self.scheduler.limiter.limit, self.settings))
        log.info(
            "camera list loaded",
            extra={
                "cameras": len(self.scheduler.cameras),
                "probes_per_s": round(self.scheduler.rate_per_s, 1),
                "concurrency": self.scheduler.limiter.limit,
                "open_file_limit": limit,
            },
        )
        return True

    async def start(self) -> None:
        """Load the list (it must load once) and check what the machine allows."""
        if self.ffmpeg is None:
            log.warning(
                "ffmpeg not found: a bitrate collapse counts as stream_black without a picture check",
                extra={"ffmpeg": self.settings.ffmpeg},
            )
        await self.refresh()
        if self.last_refresh is None:
            raise AgentError(f"no camera list: {self.refresh_error}")

    async def run(self) -> None:
        """Check and report until stop(): scheduler, reporter and list refresh side by side."""
        await self.start()
        self.started_at = time.time()
        dispatch = asyncio.create_task(self.scheduler.run())
        refresh = asyncio.create_task(self._refresh_loop())
        send = asyncio.create_task(self.reporter.run()) if self.reporter is not None else None
        log.info("probe agent running", extra={"gateway": self.targets.gateway_code})
        try:
            await self._stop.wait()
        finally:
            refresh.cancel()
            self.scheduler.stop()
            await self.scheduler.drain(self.settings.connect_timeout_s + self.settings.request_timeout_s)
            if send is not None and self.reporter is not None:
                self.reporter.stop()
                await asyncio.wait([send], timeout=self.settings.batch_timeout_s + 1)
                send.cancel()
            await asyncio.wait([dispatch, refresh], timeout=1.0)
            await self.close()
            log.info("probe agent stopped")

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_every_s)
            await self.refresh()

    def stop(self) -> None:
        """Graceful stop: no new checks, running ones finish, queued heartbeats are sent."""
        self._stop.set()

    async def close(self) -> None:
        """Close the HTTP clients."""
        for client in (self.registry, self.ingest, self.onvif):
            await client.aclose()

    def health(self) -> Health:
        """Whether the agent is doing its job: a camera list, and (reporting) batches going through."""
        now = time.time()
        refresh_age = now - self.last_refresh if self.last_refresh else None
        batch_ok = self.reporter.last_ok if self.reporter else None
        batch_age = now - batch_ok if batch_ok else None
        problems = []
        if refresh_age is None or refresh_age > self.settings.refresh_every_s * 5:
            problems.append(f"camera list stale ({self.refresh_error or 'never loaded'})")
        grace = self.settings.keepalive_s * 3
        running_s = now - self.started_at if self.started_at else 0.0
        if self.reporter is not None and running_s > grace and (batch_age is None or batch_age > grace):
            problems.append("no batch accepted by ingest recently")
        metrics.QUEUED.set(len(self.reporter.queue) if self.reporter else 0)
        return Health(
            ok=not problems,
            cameras=len(self.scheduler.cameras),
            last_refresh_age_s=round(refresh_age, 1) if refresh_age is not None else None,
            last_batch_ok_age_s=round(batch_age, 1) if batch_age is not None else None,
            detail="; ".join(problems) or "ok",
        )
