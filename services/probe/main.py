"""The probe agent: `python -m services.probe [--once]`, `citycam probe`, or its own container.

It runs at the edge, inside an agency's network: it imports no other service and reaches citycam over
HTTP only. Its local operations port serves /healthz and /metrics (CITYCAM_PROBE_METRICS_PORT).
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI
from rich.console import Console

from services.probe.agent import Agent, AgentError
from services.probe.once import print_results
from services.probe.router import router
from services.probe.scheduler import ONVIF, RTSP, STREAM
from services.probe.settings import ProbeSettings, get_probe_settings
from shared.logs import configure_logging

log = logging.getLogger(__name__)


def create_app(agent: Agent) -> FastAPI:
    """The local operations app of one agent."""
    app = FastAPI(title="citycam probe agent", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.agent = agent
    app.include_router(router)
    return app


class _LocalServer(uvicorn.Server):
    """uvicorn without its own signal handling: the agent decides when to stop, and stops this."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_agent(settings: ProbeSettings) -> int:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    agent = Agent(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.stop)
    server: _LocalServer | None = None
    serving: asyncio.Task[None] | None = None
    if settings.metrics_port:
        config = uvicorn.Config(
            create_app(agent),
            host=settings.metrics_host,
            port=settings.metrics_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        server = _LocalServer(config)
        serving = asyncio.create_task(server.serve())
    try:
        await agent.run()
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
    return 0


async def run_once(settings: ProbeSettings, *, stream: bool, report: bool, console: Console) -> int:
    """Check every camera once, print the table, optionally report; exit 1 if any camera has trouble."""
    agent = Agent(settings, report=report)
    try:
        await agent.start()
        tiers = (ONVIF, STREAM, RTSP) if stream else (ONVIF, RTSP)
        await agent.scheduler.once(tiers)
        if agent.reporter is not None:
            await agent.reporter.send_once()
    finally:
        await agent.close()
    cameras = list(agent.scheduler.cameras.values())
    print_results(cameras, console)
    trouble = any(c.last_heartbeat is None or c.last_heartbeat.errors for c in cameras)
    return 1 if trouble else 0


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.probe", description=__doc__)
    parser.add_argument("--once", action="store_true", help="check every camera once, print a table, exit")
    parser.add_argument("--stream", action="store_true", help="with --once: also read each stream (a few s each)")
    parser.add_argument("--report", action="store_true", help="with --once: also send the heartbeats to ingest")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; the settings come from CITYCAM_PROBE_* variables."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    configure_logging("probe")
    settings = get_probe_settings()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        if args.once:
            return runner(run_once(settings, stream=args.stream, report=args.report, console=Console()))
        return runner(run_agent(settings))
    except AgentError as exc:
        log.error("probe agent cannot start", extra={"why": str(exc)})
        Console(stderr=True).print(f"[red]probe agent: {exc}[/]")
        return 2
