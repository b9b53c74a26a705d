"""`make bench-pgbouncer`: ingest throughput with DATABASE_URL through PgBouncer (transaction mode)
against a direct connection to Postgres, on the cluster's primary (citycam/cluster, replicas off).

One ingest process (one worker) per way, started alike apart from its URLs; wrk sends single heartbeats
of 10,000 cameras, the ways alternating (A B A B) so that a change of machine load hits both. Writes
bench/pgbouncer.md.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from bench.load import load, write_lines
from bench.wrk import ensure_wrk, run_wrk
from citycam.cli.stack import SERVICE_APPS, uvicorn_command
from citycam.cluster.stack import Child, Cluster

HERE = Path(__file__).resolve().parent
CAMERAS = 10_000


def _ways(cluster: Cluster) -> dict[str, dict[str, str]]:
    layout = cluster.layout
    primary = layout.url(cluster.primary.port)
    return {
        "direct to Postgres": {"DATABASE_URL": primary, "CITYCAM_DB_DIRECT_URL": primary},
        "through PgBouncer": {
            "DATABASE_URL": layout.url(layout.pgbouncer),
            "CITYCAM_DB_DIRECT_URL": primary,
            "CITYCAM_DB_PREPARED_STATEMENTS": "false",
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.pgbouncer")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each way, alternating")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    wrk = ensure_wrk(print)
    cluster = Cluster(echo=False)
    children: list[Child] = []
    try:
        cluster.start(replicas=False)
        # The bulk load outlasts the database's default statement_timeout (set for PgBouncer's clients).
        data = asyncio.run(load(cluster.layout.url(cluster.primary.port) + "?statement_timeout=0", CAMERAS))
        tokens = write_lines(cluster.dir / "tokens.txt", data.online_tokens)
        ports = {}
        for number, (way, urls) in enumerate(_ways(cluster).items()):
            port = cluster.layout.base + cluster.layout.size + number
            env = cluster.service_env() | urls | {"CITYCAM_INGEST_RATE_BURST": "1000"}
            child = Child(
                f"bench-{number}",
                uvicorn_command(SERVICE_APPS["ingest"], "127.0.0.1", port, 1),
                env,
                cluster.dir / "logs" / f"bench-{number}.log",
            )
            child.start()
            children.append(child)
            ports[way] = port
        for port in ports.values():
            _wait_ready(port)
        results: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ports}
        for _ in range(args.rounds):
            for way, port in ports.items():
                r = run_wrk(
                    wrk,
                    f"http://127.0.0.1:{port}/v1/heartbeats",
                    "heartbeat.lua",
                    [str(tokens), "2"],
                    threads=2,
                    connections=args.connections,
                    duration_s=args.seconds,
                )
                results[way].append((r.ok_rps, r.p50_ms, r.p99_ms))
                print(
                    f"{way}: {r.ok_rps:.0f} heartbeats/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
                    f"errors {r.errors}"
                )
        _report(results, args, " ".join(["python -m bench.pgbouncer", *(argv if argv is not None else sys.argv[1:])]))
    finally:
        for child in children:
            child.stop()
        cluster.stop()
    return 0


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the bench ingest on {port} did not become ready")


def _report(results: dict[str, list[tuple[float, float, float]]], args: argparse.Namespace, command: str) -> None:
    lines = [
        "# Ingest through PgBouncer against a direct connection",
        "",
        f"`{command}` (or `make bench-pgbouncer`): {CAMERAS:,} cameras, single heartbeats from wrk "
        f"({args.connections} connections, {args.seconds:.0f} s per run, {args.rounds} runs per way, alternating), "
        "one ingest process of one worker per way, PgBouncer 1.18 in transaction mode in front of the "
        "cluster's primary (the synchronous standby streaming, so every commit waits for it too). "
        f"Load average when the runs ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(other work shared the machine: compare the two ways, not the absolute figures).",
        "",
        "| way | heartbeats/s (each run) | median | p50 | p99 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for way, runs in results.items():
        each = ", ".join(f"{r[0]:,.0f}" for r in runs)
        lines.append(
            f"| {way} | {each} | {statistics.median(r[0] for r in runs):,.0f} | "
            f"{statistics.median(r[1] for r in runs):.1f} ms | {statistics.median(r[2] for r in runs):.1f} ms |"
        )
    (HERE / "pgbouncer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
