"""`citycam simulate` and `citycam demo`: a simulated city of cameras against the running services."""

import asyncio
import contextlib
import os
import signal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from citycam.cli import probe_demo, stack
from citycam.cli.common import console, progress_bar, read_api_key, run
from citycam.cli.keys import _create as create_key
from citycam.settings import get_port_settings
from citycam.simulator import scenarios
from citycam.simulator.client import Credentials, RegistrationError, register
from citycam.simulator.fleet import AreaSet, Fleet, generate_fleet
from citycam.simulator.runner import Runner, RunOptions
from citycam.simulator.settings import get_simulator_settings
from citycam.simulator.stats import RunStats, percentile
from shared.settings import get_auth_settings, get_database_settings


class Areas(StrEnum):
    """The area set a simulated fleet is placed by."""

    WARDS_2025 = "2025"
    LEGACY = "legacy"

    def area_set(self) -> AreaSet:
        """The fleet generator's name for it."""
        return "legacy" if self is Areas.LEGACY else "2025"


AreasOption = Annotated[
    Areas,
    typer.Option(
        "--areas", help="Place cameras by the 168 wards of 2025 (registered by ward alone) or the 22 legacy districts"
    ),
]
ScenarioOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scenario",
        "-s",
        help=f"Repeatable: {', '.join(scenarios.SCENARIOS)} or all (default steady)",
    ),
]


def _summary(stats: RunStats, elapsed: float) -> Table:
    table = Table(title=f"simulation summary ({elapsed:.0f} s)", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("requests sent", f"{stats.requests:,}")
    table.add_row("heartbeats sent", f"{stats.heartbeats:,}")
    table.add_row("accepted (202)", f"{stats.accepted:,}")
    table.add_row("rejected", f"{sum(stats.rejected.values()):,}")
    for reason, count in stats.rejected.most_common():
        table.add_row(f"  {reason}", f"{count:,}")
    for label, reservoir in (("single", stats.single_ms), ("batch", stats.batch_ms)):
        values = reservoir.values
        if values:
            marks = " / ".join(f"{percentile(values, q):.1f}" for q in (50, 90, 99))
            table.add_row(f"{label} latency p50/p90/p99 ms", f"{marks} (max {max(values):.1f})")
    return table


async def _register(fleet: Fleet, registry_url: str, key: str) -> Credentials:
    with progress_bar() as progress:
        return await register(fleet, registry_url=registry_url, api_key=key, progress=progress)


async def _run(runner: Runner) -> RunStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    status = Text(runner.status())
    try:
        with Live(status, console=console, refresh_per_second=4, transient=False) as live:

            def tick() -> None:
                live.update(Text(runner.status()))

            stats = await runner.run(stop, on_tick=tick)
            live.update(Text(runner.status()))
        console.print()
        return stats
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def simulate_fleet(
    *,
    cameras: int,
    seed: int,
    gateway_share: float,
    names: list[str],
    duration: float,
    story: float | None,
    concurrency: int,
    key: str,
    power_cut_at: float | None,
    power_cut_length: float | None,
    blip_at: float | None,
    blip_length: float,
    area_set: AreaSet = "2025",
) -> RunStats:
    """Generate, register and run a fleet; print the summary; return the stats."""
    registry_url, ingest_url, _ = get_simulator_settings().urls()
    try:
        scenario = scenarios.build(
            names,
            power_cut_at=power_cut_at,
            power_cut_length=power_cut_length,
            blip_at=blip_at,
            blip_length=blip_length,
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    fleet = generate_fleet(cameras, seed=seed, gateway_share=gateway_share, area_set=area_set)
    behind = sum(len(g.cameras) for g in fleet.gateways)
    spread = "22 districts" if area_set == "legacy" else "the 168 wards of 2025"
    console.print(
        f"fleet: {len(fleet.cameras):,} cameras in {spread}, {len(fleet.gateways)} NVR gateways "
        f"({behind:,} cameras behind them); registering at {registry_url}"
    )
    try:
        creds = run(_register(fleet, registry_url, key))
    except httpx.TransportError as exc:
        console.print(
            f"[red]cannot reach the registry at {registry_url} ({type(exc).__name__}): is `citycam up` running?[/]"
        )
        raise typer.Exit(1) from None
    except (RegistrationError, OSError) as exc:
        console.print(f"[red]registration failed: {exc}[/]")
        raise typer.Exit(1) from None
    console.print(
        f"registered via {creds.import_used}: {len(creds.camera_tokens):,} camera tokens, "
        f"{len(creds.gateway_tokens)} gateway tokens, {len(creds.rejected):,} refused"
    )
    for code, why in list(creds.rejected.items())[:5]:
        console.print(f"  refused {code}: {why}")
    options = RunOptions(ingest_url=ingest_url, duration_s=duration, concurrency=concurrency, seed=seed, story_s=story)
    runner = Runner(fleet, creds, scenario, options)
    console.print(
        f"sending heartbeats to {ingest_url} for up to {duration:.0f} s, scenario {scenario.name} (Ctrl-C stops)"
    )
    stats = run(_run(runner))
    console.print(_summary(stats, runner.elapsed()))
    return stats


def simulate(
    cameras: Annotated[int, typer.Option(min=1, max=200_000, help="How many cameras to register")] = 10_000,
    scenario: ScenarioOption = None,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of heartbeats before stopping")] = 600.0,
    api_key: Annotated[str | None, typer.Option(help="An admin or field key (default: .data/admin.key)")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated fleet")] = 42,
    gateway_share: Annotated[float, typer.Option(min=0, max=1, help="Share of cameras behind NVRs")] = 0.3,
    concurrency: Annotated[int, typer.Option(min=1, max=2000, help="Requests in flight at most")] = 128,
    power_cut_at: Annotated[float | None, typer.Option(help="Seconds in (default 20% of the run)")] = None,
    power_cut_length: Annotated[float | None, typer.Option(help="Seconds (default half the run)")] = None,
    blip_at: Annotated[float | None, typer.Option(help="Seconds in (default 40% of the run)")] = None,
    blip_length: Annotated[float, typer.Option(help="Seconds the city's uplink is down")] = 60.0,
    areas: AreasOption = Areas.WARDS_2025,
) -> None:
    """Register a simulated fleet through the registry API, then send its heartbeats to ingest."""
    simulate_fleet(
        cameras=cameras,
        seed=seed,
        gateway_share=gateway_share,
        names=scenario or ["steady"],
        duration=duration,
        story=None,
        concurrency=concurrency,
        key=read_api_key(api_key),
        power_cut_at=power_cut_at,
        power_cut_length=power_cut_length,
        blip_at=blip_at,
        blip_length=blip_length,
        area_set=areas.area_set(),
    )


def _demo_key(url: str) -> str:
    configured = get_auth_settings().admin_key
    if configured:
        return configured
    key_file: Path = get_database_settings().data_dir / "admin.key"
    with contextlib.suppress(OSError):
        key = key_file.read_text().strip()
        if key:
            return key
    # The database has an admin key whose secret is not on disk: issue one for the demo.
    return run(create_key(url, "demo-admin", "admin", None))


def _print_urls(key: str) -> None:
    registry_url, ingest_url, health_url = get_simulator_settings().urls()
    auth = f'-H "Authorization: Bearer {key}"'
    console.print("[bold green]citycam demo is running[/]; open:")
    console.print(f"  API docs        {registry_url}/docs  {ingest_url}/docs  {health_url}/docs")
    console.print(f"  summary         curl {auth} {health_url}/v1/health/summary")
    console.print(f"  map (GeoJSON)   curl {auth} {health_url}/v1/health/map.geojson")
    console.print(f"  live events     curl -N {auth} {health_url}/v1/health/stream")
    console.print(f"  admin key       {key}")


def demo(
    cameras: Annotated[int, typer.Option(min=1, max=200_000, help="How many cameras to simulate")] = 10_000,
    scenario: ScenarioOption = None,
    duration: Annotated[float, typer.Option(min=1, help="Seconds before the demo stops by itself")] = 24 * 3600.0,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every /readyz")] = 120.0,
    areas: AreasOption = Areas.WARDS_2025,
) -> None:
    """Everything `citycam up` does, plus a simulated city: a power cut at 2 min, a network blip at 10 min."""
    # The services' per-request access logs would drown the live status line.
    os.environ.setdefault("CITYCAM_LOG_LEVEL", "WARNING")
    stack.check_ports_free(stack.service_ports())
    url, started_db = stack.migrate_and_bootstrap()
    children = stack.start_services(url)
    exit_code = 0
    district: probe_demo.ProbedDistrict | None = None
    try:
        if not stack.wait_ready(children, get_port_settings().host, ready_timeout):
            console.print("[bold red]a service did not become ready[/]")
            raise typer.Exit(1)
        key = _demo_key(url)
        _print_urls(key)
        registry_url, ingest_url, _ = get_simulator_settings().urls()
        district = probe_demo.start(
            registry_url=registry_url, ingest_url=ingest_url, key=key, work=get_database_settings().data_dir
        )
        simulate_fleet(
            cameras=cameras,
            seed=42,
            gateway_share=0.3,
            names=scenario or ["all"],
            duration=duration,
            story=1800.0,
            concurrency=128,
            key=key,
            power_cut_at=120.0,
            power_cut_length=300.0,
            blip_at=600.0,
            blip_length=45.0,
            area_set=areas.area_set(),
        )
        _print_urls(key)
    except KeyboardInterrupt:
        exit_code = 130
    finally:
        if district is not None:
            district.stop()
        stack.stop_services(children, started_db=started_db)
    raise typer.Exit(exit_code)
