"""`python -m bench [--quick|--smoke]`: start a private stack, load data, run every benchmark, write the report."""

import argparse
import asyncio
import os
import shlex
import sys
import time
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.table import Table

from bench import probe as probe_bench
from bench import suites
from bench.load import load
from bench.report import draw_chart, write_results
from bench.rows import all_rows
from bench.stack import BenchStack
from bench.wrk import WrkMissing, ensure_wrk

HERE = Path(__file__).resolve().parent
console = Console(stderr=True)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="shorter runs (under 3 minutes), same data")
    speed.add_argument("--smoke", action="store_true", help="tiny data and 1 s runs: checks the bench itself works")
    parser.add_argument("--cameras", type=int, help="cameras to load (default 100,000; smoke 3,000)")
    parser.add_argument("--out", type=Path, default=HERE, help="where results.md and ingest.png go (default bench/)")
    parser.add_argument("--work-dir", type=Path, default=HERE / ".work", help="embedded Postgres, logs, token files")
    parser.add_argument(
        "--database-url",
        help="a Postgres server to create the bench database on (default: an embedded one under --work-dir)",
    )
    parser.add_argument("--database-name", default="citycam_bench", help="the bench database (dropped and recreated)")
    parser.add_argument("--ingest-workers", type=int, default=1, help="uvicorn workers for ingest and the no-op")
    parser.add_argument(
        "--only",
        action="append",
        choices=["ingest", "health", "registry", "probe"],
        help="run only these suites (repeatable)",
    )
    return parser.parse_args(argv)


async def _postgres_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    mode = suites.MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.cameras:
        mode = suites.Mode(**{**mode.__dict__, "cameras": args.cameras})
    started = time.monotonic()
    load_before = os.getloadavg()[0]

    def say(message: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.1f}s[/] {message}", highlight=False)

    try:
        wrk = ensure_wrk(say)
    except WrkMissing as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    stack = BenchStack(
        work_dir=args.work_dir,
        server_url=args.database_url,
        database_name=args.database_name,
        ingest_workers=args.ingest_workers,
        env={
            "CITYCAM_LOG_LEVEL": "WARNING",
            # The batch benchmark replays each gateway's batch several times a second, faster than the
            # per-camera limit (1/s) admits: it measures storage throughput, so the limiter is set out of
            # the way (it still runs on every item; its cost stays in the figures).
            "CITYCAM_INGEST_RATE_PER_S": "100000",
            "CITYCAM_INGEST_RATE_BURST": "100000",
        },
    )
    rows = {row.key: row for row in all_rows()}
    sweep: dict[str, list[tuple[float, float, float | None]]] = {}
    notes: list[str] = []
    ctx_notes: list[str] = []
    postgres = "?"
    try:
        wanted = args.only or ["ingest", "health", "registry", "probe"]
        # The probe suite needs no database or services of its own: --only probe starts none.
        if set(wanted) - {"probe"}:
            where = args.database_url or f"an embedded Postgres under {args.work_dir}"
            say(f"[bold]bench ({mode.name})[/]: fresh database {args.database_name} on {where}")
            url = stack.start_database()
            where_pg = "given server" if args.database_url else "embedded"
            postgres = f"PostgreSQL {asyncio.run(_postgres_version(url))} ({where_pg})"
            say(f"loading {mode.cameras:,} cameras with tokens and last heartbeats (COPY)")
            data = asyncio.run(load(url, mode.cameras))
            say(f"  loaded: {data.offline:,} offline, {data.degraded:,} degraded, {len(data.gateways)} gateways")
            # After the load, not during it: on two cores the boot and the COPY only slow each other down.
            say("starting registry, ingest, health and the no-op on free ports")
            stack.start_services()
            failed = stack.wait_ready()
            for name, why in failed.items():
                say(f"[red]{name} is not ready: {why}[/]")
                notes.append(f"{name} did not become ready: {why}")
            ctx = suites.Context(
                stack=stack,
                data=data,
                wrk=wrk,
                mode=mode,
                rows=rows,
                say=say,
                work=args.work_dir,
                sweep=sweep,
                notes=ctx_notes,
            )
            # Ingest first: its traffic keeps the city's newest heartbeat fresh for the health reads that follow.
            for name, suite in (("ingest", suites.ingest), ("health", suites.health), ("registry", suites.registry)):
                if name not in wanted:
                    for row in rows.values():
                        if row.key.startswith(name + "."):
                            row.skipped("suite not selected (--only)")
                    continue
                if name in failed:
                    for row in rows.values():
                        if row.key.startswith(name + ".") and not row.figure:
                            row.skipped(f"the {name} service did not start")
                    continue
                try:
                    suite(ctx)
                except Exception as exc:  # one broken suite must not lose the others' figures
                    say(f"[red]{name} suite failed: {type(exc).__name__}: {exc}[/]")
                    notes.append(f"the {name} suite stopped early: {type(exc).__name__}: {str(exc)[:200]}")
                    for row in rows.values():
                        if row.key.startswith(name + ".") and not row.figure:
                            row.skipped(f"the {name} suite stopped early ({type(exc).__name__})")
        if "probe" in wanted:
            try:
                if args.smoke:
                    for key in ("probe.cpu", "probe.errors", "probe.lag", "probe.dark"):
                        rows[key].skipped("smoke mode (the probe run takes minutes)")
                else:
                    probe_bench.run(rows, args.work_dir / "probe", say)
            except Exception as exc:  # the other suites' figures are kept
                say(f"[red]probe suite failed: {type(exc).__name__}: {exc}[/]")
                notes.append(f"the probe suite stopped early: {type(exc).__name__}: {str(exc)[:200]}")
        for row in rows.values():
            if not row.figure and row.key.split(".")[0] not in wanted:
                row.skipped("suite not selected (--only)")
    except KeyboardInterrupt:
        notes.append("interrupted")
        say("[yellow]interrupted: writing what was measured[/]")
    finally:
        say("stopping the stack")
        stack.stop()
    for row in rows.values():
        if not row.figure:
            row.skipped("not reached")
    notes.extend(ctx_notes)
    notes.append(
        f"machine load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
        f"({os.cpu_count()} cores): the machine is shared, which is why every ratio has its baseline in the same run"
    )
    notes.append(
        "the open-loop generator is Python on the same two cores: its own send lag is reported, and points the "
        "sweep marks as lagged understate the server"
    )
    chart = draw_chart(args.out / "ingest.png", sweep)
    results = args.out / "results.md"
    command = "make bench" + (f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else "")
    write_results(
        results,
        list(rows.values()),
        mode=mode.name,
        command=command,
        postgres=postgres,
        cameras=mode.cameras,
        chart=chart,
        notes=notes,
    )
    table = Table(title=f"citycam bench ({mode.name}, {mode.cameras:,} cameras)")
    for column in ("issue", "benchmark", "target", "measured", "verdict"):
        table.add_column(column)
    for row in rows.values():
        colour = {"met": "green", "MISSED": "red"}.get(row.verdict, "yellow")
        table.add_row(row.issue, row.name, row.target, row.figure, f"[{colour}]{row.verdict}[/]")
    Console(width=max(Console().width, 150)).print(table)
    say(f"wrote {results}" + (f" and {chart}" if chart else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
