"""The one table (console and bench/results.md), the machine's description, and bench/ingest.png."""

import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.rows import Row


def machine() -> str:
    """CPU, cores, memory, OS, Python and wrk versions, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    os_name = platform.platform(terse=True)
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("Copyright")[0].strip()
    return f"{cpu}, {os.cpu_count()} cores{memory}; {os_name}; Python {platform.python_version()}; {wrk or 'wrk ?'}"


def markdown_table(rows: Sequence[Row]) -> str:
    """The results as a GitHub markdown table."""
    lines = ["| issue | benchmark | target | measured | verdict | how |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        cells = [row.issue, row.name, row.target, row.figure, row.verdict, row.detail]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def write_results(
    path: Path,
    rows: Sequence[Row],
    *,
    mode: str,
    command: str,
    postgres: str,
    cameras: int,
    chart: Path | None,
    notes: Sequence[str] = (),
) -> None:
    """bench/results.md: date, machine, conditions, the table, and the chart."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# citycam benchmark results",
        "",
        f"- date: {now}",
        f"- machine: {machine()}",
        f"- database: {postgres}",
        f"- mode: `{mode}`, {cameras:,} cameras loaded (10% offline, 5% degraded, 30% behind NVR gateways)",
        f"- command: `{command}`",
        "",
        "Ratios are against baselines measured in the same run (the machine is shared and noisy): the no-op",
        "is a plain FastAPI endpoint taking the same JSON body, served by uvicorn with the same worker count;",
        "the batch baseline is the same unnest upsert run directly through asyncpg. Fixed-rate latencies come",
        "from bench/openloop.py (open loop, latency counted from the scheduled send time), closed-loop ones",
        "from wrk with bench/lua scripts. `not measured` means the endpoint was missing or failed its probe.",
        "",
        markdown_table(rows),
        "",
    ]
    if notes:
        parts += ["## notes", "", *[f"- {n}" for n in notes], ""]
    if chart is not None and chart.exists():
        parts += ["## heartbeats against the no-op, by offered rate", "", f"![ingest]({chart.name})", ""]
    path.write_text("\n".join(parts), encoding="utf-8")


def draw_chart(path: Path, sweep: dict[str, list[tuple[float, float, float | None]]]) -> Path | None:
    """Throughput and p99 against offered rate, one line per target; None when there is nothing to draw."""
    if not sweep:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, points in sweep.items():
        offered = [p[0] for p in points]
        left.plot(offered, [p[1] for p in points], marker="o", label=label)
        right.plot(offered, [p[2] if p[2] is not None else float("nan") for p in points], marker="o", label=label)
    top = max(p[0] for points in sweep.values() for p in points)
    left.plot([0, top], [0, top], linestyle=":", color="grey", label="offered")
    left.set(xlabel="offered rate (req/s)", ylabel="accepted (req/s)", title="throughput")
    right.set(xlabel="offered rate (req/s)", ylabel="p99 latency (ms)", title="p99 latency (open loop)", yscale="log")
    right.axhline(50, color="red", linestyle="--", linewidth=0.8, label="50 ms target")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("POST /v1/heartbeats vs a no-op FastAPI endpoint (same body, same workers)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
