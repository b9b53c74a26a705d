"""The benchmarks of issues 3, 4 and 5, each filling its Row; a missing endpoint gives 'not measured'."""

import asyncio
import csv
import io
import json
import random
import re
import statistics
import time
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bench.load import LoadedData, write_lines
from bench.openloop import OpenLoopResult, render_post, run_open_loop
from bench.raw import raw_upsert_rows_per_s
from bench.rows import Row
from bench.stack import BenchStack
from bench.wrk import WrkResult, run_wrk
from citycam.simulator.fleet import ROADS, generate_fleet
from services.health.evaluation import evaluate
from services.health.pass_result import PassResult
from shared.db import async_url, make_engine


@dataclass(frozen=True)
class Mode:
    name: str
    cameras: int
    run_s: float  # each measured wrk/open-loop run
    warm_s: float
    sweep_rates: tuple[int, ...]
    sweep_s: float
    import_rows: int
    burst: int
    read_s: float = 3.0  # each read-latency run
    read_connections: int = 8  # for the capacity figure
    capacity_s: float = 2.0  # a short closed-loop wrk run per read benchmark for its capacity (0: skip)
    evaluator_window_s: float = 10.0
    evaluator_runs: int = 5
    rounds: int = 1  # alternating no-op / heartbeat rounds of the throughput comparison
    ingest_connections: int = 256
    batch_connections: int = 4
    ingest_tokens: int = 20_000


MODES = {
    "full": Mode(
        "full",
        100_000,
        10,
        5,
        (500, 1000, 2000, 3000, 4000, 6000, 8000),
        5,
        10_000,
        10_000,
        rounds=2,
        read_s=10,
    ),
    "quick": Mode(
        "quick",
        100_000,
        3,
        2,
        (1000, 2000, 4000),
        2,
        10_000,
        10_000,
        ingest_tokens=6_000,
        read_s=2,
        capacity_s=1,
        evaluator_window_s=4,
        evaluator_runs=3,
    ),
    "smoke": Mode(
        "smoke",
        3_000,
        1,
        0.5,
        (1000,),
        1,
        1_000,
        1_000,
        ingest_tokens=2_000,
        read_s=1,
        capacity_s=0,
        evaluator_window_s=2,
        evaluator_runs=2,
    ),
}


@dataclass
class Context:
    stack: BenchStack
    data: LoadedData
    wrk: str
    mode: Mode
    rows: dict[str, Row]
    say: Callable[[str], None]
    work: Path
    sweep: dict[str, list[tuple[float, float, float | None]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def url(self, service: str) -> str:
        return self.stack.services[service].url

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.data.admin_key}"}


def _probe(ctx: Context, method: str, service: str, path: str, expect: int, **kwargs: object) -> str | None:
    """None when one request gets the expected status, else the reason to skip the benchmark."""
    try:
        response = httpx.request(method, ctx.url(service) + path, timeout=30, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        return f"{method} {path} failed ({type(exc).__name__})"
    if response.status_code == expect:
        return None
    if response.status_code in (404, 405):
        return f"{method} {path.split('?')[0]} is not implemented in the merged {service} ({response.status_code})"
    return f"{method} {path.split('?')[0]} answered {response.status_code}, not {expect}: {response.text[:120]}"


def _wrk(
    ctx: Context, service: str, path: str, script: str, args: list[str], *, connections: int, seconds: float
) -> WrkResult:
    return run_wrk(
        ctx.wrk,
        ctx.url(service) + path,
        script,
        args,
        threads=2,
        connections=connections,
        duration_s=seconds,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _errors_note(result: WrkResult) -> str:
    return f"; {result.errors:,} of {result.requests:,} failed" if result.errors else ""


# ---------------------------------------------------------------- ingest


def _token_cache(ctx: Context) -> dict[str, float]:
    """Ingest's token-cache look-ups by result, from its /metrics (empty when it has none)."""
    try:
        text = httpx.get(ctx.url("ingest") + "/metrics", timeout=10).text
    except httpx.HTTPError:
        return {}
    counts: dict[str, float] = {}
    for line in text.splitlines():
        match = _METRIC_LINE.match(line)
        if match and match.group(1) == "citycam_ingest_token_cache_total":
            result = re.search(r'result="([^"]+)"', match.group(2) or "")
            if result:
                counts[result.group(1)] = counts.get(result.group(1), 0.0) + float(match.group(3))
    return counts


def _hit_share(before: dict[str, float], after: dict[str, float]) -> str:
    hits = after.get("hit", 0.0) - before.get("hit", 0.0)
    total = hits + after.get("miss", 0.0) - before.get("miss", 0.0)
    return f"{hits / total:.1%}" if total > 0 else "n/a"


def _heartbeat_requests(ctx: Context, service: str, tokens: list[str]) -> list[bytes]:
    host = f"127.0.0.1:{ctx.stack.services[service].port}"
    out = []
    for i, token in enumerate(tokens):
        body = json.dumps(
            {
                "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "uptime_s": 3600 + i,
                "fps": 25.0,
                "bitrate_kbps": 4096.0,
                "packet_loss_pct": 0.1,
                "temperature_c": 41.5,
                "storage_free_pct": 63.0,
                "errors": [],
            }
        ).encode()
        out.append(render_post(host, "/v1/heartbeats", token, body))
    return out


def _open_loop(
    ctx: Context, service: str, tokens: list[str], rate: float, seconds: float, connections: int
) -> OpenLoopResult:
    requests = _heartbeat_requests(ctx, service, tokens)
    return asyncio.run(
        run_open_loop(
            "127.0.0.1",
            ctx.stack.services[service].port,
            requests,
            rate=rate,
            duration=seconds,
            connections=connections,
        )
    )


def ingest(ctx: Context) -> None:
    """Single heartbeats vs the no-op, open-loop p99, the offered-rate sweep, batches vs asyncpg, the burst."""
    mode = ctx.mode
    tokens = ctx.data.online_tokens[: mode.ingest_tokens]
    tokens_file = write_lines(ctx.work / "tokens.txt", tokens)
    wrk_args = [str(tokens_file), "2"]
    single = ctx.rows["ingest.single"]
    reason = _probe(
        ctx,
        "POST",
        "ingest",
        "/v1/heartbeats",
        202,
        json={"fps": 25.0},
        headers={"authorization": f"Bearer {tokens[-1]}"},
    )

    def hammer(service: str, seconds: float) -> WrkResult:
        return _wrk(
            ctx,
            service,
            "/v1/heartbeats",
            "heartbeat.lua",
            wrk_args,
            connections=mode.ingest_connections,
            seconds=seconds,
        )

    targets = ["noop"] if reason else ["noop", "ingest"]
    # Warm-up: in steady state every reporting camera is in each ingest worker's token cache, so warm
    # ingest until each token has been sent about three times (both workers have most likely seen it),
    # then give the no-op as long.
    warm_spent = mode.warm_s
    for target in reversed(targets):
        sent, spent = 0, 0.0
        while spent < warm_spent - 0.5 or (target == "ingest" and sent < 3 * len(tokens) and spent < 30):
            warm = hammer(target, mode.warm_s)
            sent, spent = sent + warm.requests, spent + warm.duration_s
        warm_spent = max(warm_spent, spent)
        ctx.say(f"ingest: {target} warmed with {sent:,} requests in {spent:.0f} s")
    # Alternate the two so a noisy neighbour on this shared machine weighs on both alike.
    results: dict[str, list[WrkResult]] = {t: [] for t in targets}
    cache_before = _token_cache(ctx)
    for round_number in range(1, mode.rounds + 1):
        for target in targets:
            ctx.say(f"ingest: {target}, wrk -t2 -c{mode.ingest_connections}, {mode.run_s:.0f} s (round {round_number})")
            result = hammer(target, mode.run_s)
            results[target].append(result)
            ctx.say(f"  {result.ok_rps:,.0f} req/s accepted, p99 {result.p99_ms:.1f} ms{_errors_note(result)}")
    noop_rps = sum(r.ok_rps for r in results["noop"]) / len(results["noop"])
    if reason:
        for key in ("ingest.single", "ingest.p99", "ingest.burst"):
            ctx.rows[key].skipped(reason)
    else:
        hb_rps = sum(r.ok_rps for r in results["ingest"]) / len(results["ingest"])
        errors = sum(r.errors for r in results["ingest"])
        requests = sum(r.requests for r in results["ingest"])
        ratio = hb_rps / noop_rps if noop_rps else 0.0
        hb_p99 = max(r.p99_ms for r in results["ingest"])
        noop_p99 = max(r.p99_ms for r in results["noop"])
        ctx.say(f"  heartbeats / no-op: {ratio:.2f}x")
        failed = f"; {errors:,} of {requests:,} failed" if errors else ""
        single.measured(
            f"{ratio:.2f}× ({hb_rps:,.0f} vs {noop_rps:,.0f} req/s)",
            ratio >= 2.0 and errors <= requests * 0.001,
            f"wrk -t2 -c{mode.ingest_connections} -d{mode.run_s:.0f}s x {mode.rounds} alternating rounds, "
            f"{len(tokens):,} camera tokens, {warm_spent:.0f} s warm-up each; p99 {hb_p99:.0f} ms vs "
            f"{noop_p99:.0f} ms; token cache hits {_hit_share(cache_before, _token_cache(ctx))}{failed}",
        )

        ctx.say(f"ingest: open loop at 2,000/s for {mode.run_s:.0f} s, 256 connections")
        fixed = _open_loop(ctx, "ingest", tokens, 2000, mode.run_s, 256)
        p99 = fixed.p(99)
        lag = fixed.lag_p99()
        ctx.say(f"  p99 {_ms(p99)}, {fixed.errors} errors, generator send lag p99 {_ms(lag)}")
        ctx.rows["ingest.p99"].measured(
            f"{_ms(p99)} (p50 {_ms(fixed.p(50))})",
            p99 is not None and p99 <= 50 and fixed.errors == 0,
            f"{fixed.planned:,} requests at 2,000/s over 256 connections; {fixed.errors} errors; "
            f"generator lag p99 {_ms(lag)}",
        )

    ctx.say(f"ingest: offered-rate sweep {list(mode.sweep_rates)} req/s, {mode.sweep_s:.0f} s each")
    for target in targets:
        points = []
        for rate in mode.sweep_rates:
            step = _open_loop(ctx, target, tokens, rate, mode.sweep_s, 256)
            points.append((float(rate), step.achieved_rps, step.p(99)))
            lag = step.lag_p99()
            slow = ""
            if lag is not None and lag > 20:
                slow = " (generator lagged: this point understates the server)"
                ctx.notes.append(f"sweep: at {rate:,}/s to {target} the generator lagged (send lag p99 {lag:.0f} ms)")
            ctx.say(
                f"  {target:<6} offered {rate:>6,}/s -> {step.achieved_rps:>8,.0f}/s ok, p99 {_ms(step.p(99))}{slow}"
            )
        ctx.sweep["heartbeats" if target == "ingest" else "no-op"] = points

    _batch(ctx)
    if not reason:
        _burst(ctx)
    _vacuum(ctx)


# The tables the ingest suite's heartbeats update or fill.
CHURNED_TABLES = ("camera_state", "gateway_state", "heartbeat")


def _vacuum(ctx: Context) -> None:
    """Vacuum what the ingest suite churned, so the suites after it do not measure autovacuum catching up.

    Measured without it: a full evaluator pass took 447 ms (median of 5) right after the ingest suite,
    162 ms when the health suite ran alone (python -m bench --only health).
    """
    started = time.monotonic()

    async def run() -> None:
        conn = await asyncpg.connect(ctx.stack.database_url)
        try:
            await conn.execute(f"VACUUM (ANALYZE) {', '.join(CHURNED_TABLES)}")
        finally:
            await conn.close()

    asyncio.run(run())
    ctx.say(f"ingest: vacuumed {', '.join(CHURNED_TABLES)} in {time.monotonic() - started:.1f} s")
    ctx.notes.append(
        f"after the ingest suite the bench vacuums {', '.join(CHURNED_TABLES)} (as autovacuum would, a little"
        " later), so the health and registry figures are not taken while it catches up"
    )


def _batch(ctx: Context) -> None:
    row = ctx.rows["ingest.batch"]
    mode = ctx.mode
    if not ctx.data.gateways:
        row.skipped("no gateways in the loaded data")
        return
    token, codes = ctx.data.gateways[0]
    reason = _probe(
        ctx,
        "POST",
        "ingest",
        "/v1/heartbeats/batch",
        200,
        json={"heartbeats": [{"camera": codes[0], "fps": 25.0}]},
        headers={"authorization": f"Bearer {token}"},
    )
    if reason:
        row.skipped(reason)
        return
    lines = []
    for token, codes in ctx.data.gateways:
        items = [
            {"camera": code, "fps": 25.0, "bitrate_kbps": 4096.0, "packet_loss_pct": 0.1, "temperature_c": 41.5}
            for code in codes
        ]
        lines.append(f"{token}\t{json.dumps({'heartbeats': items}, separators=(',', ':'))}")
    batches_file = write_lines(ctx.work / "batches.txt", lines)
    size = len(ctx.data.gateways[0][1])
    ctx.say(f"ingest: batches of {size} over {mode.batch_connections} connections, {mode.run_s:.0f} s")
    started = datetime.now(UTC)
    result = _wrk(
        ctx,
        "ingest",
        "/v1/heartbeats/batch",
        "batch.lua",
        [str(batches_file), "2"],
        connections=mode.batch_connections,
        seconds=mode.run_s,
    )
    stored = asyncio.run(_count_history(ctx.stack.database_url, started))
    api_rows = stored / result.duration_s
    offered_items = max(1, result.requests - result.errors) * size
    refused = max(0.0, 1 - stored / offered_items)
    ctx.say(f"  {result.ok_rps:,.1f} batches/s, {api_rows:,.0f} rows/s stored{_errors_note(result)}")
    ctx.say(f"ingest: the same upsert straight through asyncpg (2 connections), {mode.run_s:.0f} s")
    raw = asyncio.run(raw_upsert_rows_per_s(ctx.stack.database_url, ctx.data.gateway_camera_ids, duration_s=mode.run_s))
    share = api_rows / raw if raw else 0.0
    ctx.say(f"  asyncpg: {raw:,.0f} rows/s -> {share:.0%}")
    row.measured(
        f"{share:.0%} ({api_rows:,.0f} vs {raw:,.0f} rows/s)",
        share >= 0.5 and result.error_share < 0.001,
        f"wrk -t2 -c{mode.batch_connections}, {size}-item batches, rows counted in the heartbeat table; "
        f"asyncpg: unnest upsert, 2 connections, same batches; {refused:.1%} of the items of accepted "
        f"batches not stored (refused one by one){_errors_note(result)}",
    )


async def _count_history(database_url: str, since: datetime) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM heartbeat WHERE received_at >= $1", since))
    finally:
        await conn.close()


def _burst(ctx: Context) -> None:
    row = ctx.rows["ingest.burst"]
    count = min(ctx.mode.burst, len(ctx.data.online_tokens))
    # Cameras the other ingest benchmarks did not touch, as after a city-wide reconnect.
    tokens = ctx.data.online_tokens[-count:]
    ctx.say(f"ingest: burst of {count:,} distinct cameras within 1 s, 1,000 connections")
    result = _open_loop(ctx, "ingest", tokens, count, 1.0, min(1000, count))
    ctx.say(f"  {result.ok:,} accepted, {result.errors} errors, last reply at {result.last_response_s:.1f} s")
    row.measured(
        f"{result.errors} errors, last 202 at {result.last_response_s:.1f} s",
        result.errors == 0 and result.last_response_s <= 10,
        f"{count:,} cameras scheduled evenly over 1 s on {min(1000, count)} connections; p99 {_ms(result.p(99))}; "
        f"statuses {dict(sorted(result.statuses.items()))}",
    )


# ---------------------------------------------------------------- health


def _latency_row(ctx: Context, key: str, service: str, paths: list[str], limit_ms: float, label: str) -> None:
    """p99 of one client's back-to-back GETs (wrk -t1 -c1: the query's own latency, no queueing), then the
    capacity with a few concurrent clients."""
    row = ctx.rows[key]
    reason = _probe(ctx, "GET", service, paths[0], 200, headers=ctx.auth)
    if reason:
        row.skipped(reason)
        return
    mode = ctx.mode
    paths_file = write_lines(ctx.work / f"{key}.paths", paths)
    ctx.say(f"{service}: {label}, one client back to back (wrk -t1 -c1), {mode.read_s:.0f} s")

    def wrk(threads: int, connections: int, seconds: float) -> WrkResult:
        args = [str(paths_file), ctx.data.admin_key, str(threads)]
        return run_wrk(
            ctx.wrk,
            ctx.url(service) + "/",
            "get.lua",
            args,
            threads=threads,
            connections=connections,
            duration_s=seconds,
        )

    wrk(1, 1, 1)
    result = wrk(1, 1, mode.read_s)
    capacity = ""
    if mode.capacity_s:
        closed = wrk(2, mode.read_connections, mode.capacity_s)
        capacity = f"; capacity {closed.ok_rps:,.0f} req/s (wrk -c{mode.read_connections}, p99 {closed.p99_ms:.0f} ms)"
    ctx.say(f"  p99 {result.p99_ms:.1f} ms, p50 {result.p50_ms:.1f} ms{_errors_note(result)}{capacity}")
    row.measured(
        f"{result.p99_ms:.1f} ms (p50 {result.p50_ms:.1f} ms)",
        result.p99_ms <= limit_ms and result.error_share < 0.001,
        f"wrk -t1 -c1 -d{mode.read_s:.0f}s: {result.requests:,} requests over {len(set(paths)):,} distinct URLs"
        f"{_errors_note(result)}{capacity}",
    )


def _settle(ctx: Context, timeout_s: float) -> str:
    """Wait until the health summary shows the loaded offline share; describe what it shows."""
    deadline = time.monotonic() + timeout_s
    seen = ""
    while time.monotonic() < deadline:
        try:
            body = httpx.get(ctx.url("health") + "/v1/health/summary", headers=ctx.auth, timeout=10).json()
            by_status = body.get("by_status", {})
            seen = ", ".join(f"{k} {v:,}" for k, v in by_status.items())
            if by_status.get("offline", 0) >= 0.95 * ctx.data.offline:
                return seen
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        time.sleep(1)
    return seen + " (did not settle)"


def health(ctx: Context) -> None:
    """Summary, groups, offline list latency, and the evaluator pass time from health's /metrics."""
    reason = _probe(ctx, "GET", "health", "/v1/health/summary", 200, headers=ctx.auth)
    if not reason:
        ctx.say(f"health: waiting for the evaluator to see the loaded statuses ({ctx.data.offline:,} offline)")
        ctx.say(f"  summary: {_settle(ctx, 10 if ctx.mode.name == 'smoke' else 60)}")
    _latency_row(ctx, "health.summary", "health", ["/v1/health/summary"], 20, "summary")
    _latency_row(ctx, "health.groups", "health", ["/v1/health/groups?by=district"], 50, "groups by district")
    _latency_row(ctx, "health.offline", "health", ["/v1/health/cameras?status=offline"], 50, "offline list first page")
    _evaluator(ctx)


_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)")


def evaluator_passes(metrics_text: str, kind: str) -> tuple[float, float] | None:
    """(seconds, count) summed over the `kind` evaluator passes in health's Prometheus text, if any."""
    total = count = None
    for line in metrics_text.splitlines():
        match = _METRIC_LINE.match(line)
        if not match or not match.group(1).startswith("citycam_health_evaluation_seconds"):
            continue
        if f'pass="{kind}"' not in (match.group(2) or ""):
            continue
        if match.group(1).endswith("_sum"):
            total = float(match.group(3))
        elif match.group(1).endswith("_count"):
            count = float(match.group(3))
    return (total, count) if total is not None and count is not None else None


async def _full_passes(database_url: str, runs: int) -> list[PassResult]:
    """`runs` full evaluator passes over the loaded fleet, each rolled back, after one unmeasured pass."""
    engine = make_engine(async_url(database_url))
    results = []
    try:
        async with engine.connect() as conn:
            for _ in range(runs + 1):
                async with AsyncSession(bind=conn) as session:
                    # The first pass also pays this process's one-off costs (statement compilation).
                    results.append(await evaluate(session))
                    await session.rollback()
            results = results[1:]
    finally:
        await engine.dispose()
    return results


def _evaluator(ctx: Context) -> None:
    """A full pass timed directly (what a new leader runs), and the running loop's passes from /metrics."""
    row = ctx.rows["health.evaluator"]

    def scrape() -> tuple[float, float] | None:
        text = httpx.get(ctx.url("health") + "/metrics", headers=ctx.auth, timeout=10).text
        return evaluator_passes(text, "incremental")

    try:
        before = scrape()
        ctx.say(f"health: {ctx.mode.evaluator_runs} full evaluator passes over every camera, each rolled back")
        results = asyncio.run(_full_passes(ctx.stack.database_url, ctx.mode.evaluator_runs))
        full = [r.duration_ms for r in results]
        slowest = max(results, key=lambda r: r.duration_ms)
        ctx.say(f"  full pass: median {statistics.median(full):.0f} ms, slowest {max(full):.0f} ms")
        # Rolled back, each pass re-applies whatever the running loop has not committed yet.
        ctx.say(f"  slowest: {slowest.changed} verdicts changed, stages (ms) {slowest.stages_ms}")
        ctx.say(f"health: the running evaluator's passes over {ctx.mode.evaluator_window_s:.0f} s (from /metrics)")
        time.sleep(ctx.mode.evaluator_window_s)
        after = scrape()
    except httpx.HTTPError as exc:
        row.skipped(f"health /metrics unreachable ({type(exc).__name__})")
        return
    steady = "no incremental pass in the window"
    if before is not None and after is not None and after[1] > before[1]:
        passes = after[1] - before[1]
        mean = (after[0] - before[0]) / passes
        window = f"{ctx.mode.evaluator_window_s:.0f} s"
        steady = f"the running loop's incremental passes: {passes:.0f} in {window}, mean {mean * 1000:.1f} ms"
        ctx.say(f"  {steady}")
    row.measured(
        f"{statistics.median(full):.0f} ms median, slowest {max(full):.0f} ms",
        max(full) <= 500,
        f"{len(full)} full passes over {ctx.data.cameras:,} cameras, timed in the bench process and rolled back; "
        f"{steady} (health /metrics citycam_health_evaluation_seconds)",
    )


# ---------------------------------------------------------------- registry


def unaccent(text: str) -> str:
    """Lower case without Vietnamese accents (đ -> d), as an operator would type it."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()


def registry(ctx: Context) -> None:
    """Filter, search, bbox and by-code reads, then a 10,000-row CSV import."""
    rng = random.Random(5)
    districts = sorted({code.split("-")[0] for code in ctx.data.codes})
    filters = [f"/v1/cameras?district={d}" for d in districts]
    roads = sorted({unaccent(r) for roads in ROADS.values() for r in roads})
    searches = [f"/v1/cameras?q={urllib.parse.quote(r)}" for r in roads]
    boxes = []
    for lat, lon in rng.sample(ctx.data.coordinates, min(500, len(ctx.data.coordinates))):
        boxes.append(f"/v1/cameras?bbox={lon - 0.005:.5f},{lat - 0.005:.5f},{lon + 0.005:.5f},{lat + 0.005:.5f}")
    codes = [f"/v1/cameras/{c}" for c in rng.sample(ctx.data.codes, min(5000, len(ctx.data.codes)))]
    _latency_row(ctx, "registry.filter", "registry", filters, 30, "one filter (district)")
    _latency_row(ctx, "registry.search", "registry", searches, 50, "accent-insensitive search")
    _latency_row(ctx, "registry.bbox", "registry", boxes, 30, "bbox (about 1 km square)")
    _latency_row(ctx, "registry.code", "registry", codes, 10, "get by code")
    _import(ctx)


CSV_COLUMNS = (
    "code",
    "name",
    "latitude",
    "longitude",
    "address",
    "district",
    "road",
    "direction",
    "kind",
    "vendor",
    "model",
    "firmware",
    "ip",
    "lifecycle",
    "heartbeat_interval_s",
    "owner",
)


def import_csv(rows: int) -> bytes:
    """A CSV of `rows` new cameras (codes unlike the loaded ones), in the registry's column names."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for camera in generate_fleet(rows, seed=777, gateway_share=0.0).cameras:
        district, number = camera.code.split("-")
        body = camera.api_body()
        body["code"] = f"{district}-IMP-{number}"
        writer.writerow([body[c] for c in CSV_COLUMNS])
    return out.getvalue().encode()


def _import(ctx: Context) -> None:
    row = ctx.rows["registry.import"]
    count = ctx.mode.import_rows
    payload = import_csv(count)
    headers = {**ctx.auth, "content-type": "text/csv"}
    reason = _probe(
        ctx, "POST", "registry", "/v1/cameras/import?dry_run=true", 200, content=import_csv(1), headers=headers
    )
    if reason:
        row.skipped(reason)
        return
    ctx.say(f"registry: importing {count:,} CSV rows ({len(payload) / 1e6:.1f} MB) in one request")
    started = time.perf_counter()
    response = httpx.post(ctx.url("registry") + "/v1/cameras/import", content=payload, headers=headers, timeout=300)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        row.measured(f"failed: HTTP {response.status_code}", False, response.text[:200])
        return
    body = response.json()
    rejected = len(body.get("rejected", []))
    ctx.say(f"  {elapsed:.1f} s: created {body.get('created')}, updated {body.get('updated')}, rejected {rejected}")
    label = f"{elapsed:.1f} s" + (f" for {count:,} rows" if count != 10_000 else "")
    row.measured(
        label,
        elapsed <= 10 and rejected == 0,
        f"one POST /v1/cameras/import (text/csv); created {body.get('created')}, updated {body.get('updated')}, "
        f"rejected {rejected}",
    )
