"""`python -m bench.search_options`: the two ways to index accent-free search, measured side by side.

    python -m bench.search_options [--database-url postgresql://… ...] [--cameras 100000] [--out DIR]

On each server (an embedded Postgres under --work-dir, plus every --database-url given) a scratch
database gets 100,000 bench cameras, then each option in turn:

- generated: the shipped design, a stored generated column folded with translate() (migration 0002)
  and a trigram GIN index on it;
- unaccent: the unaccent extension behind an IMMUTABLE wrapper (unaccent() itself is only STABLE, so
  it cannot index), folded the same way, with a trigram GIN expression index.

For each option it times building the index, inserting 10,000 cameras (rolled back), and the two
reads a search is made of (services/registry/search.py camera_page): the walk (the search words
checked on the first 2,000 cameras in code order) and the index read (every match through the
trigram index, sorted, first page of 101). The queries are the bench's road names, common words,
short words and misses. Results go to DIR/search_options.md.
"""

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from rich.console import Console
from sqlalchemy import literal_column
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from bench.load import load
from bench.stack import BenchStack
from bench.suites import unaccent
from citycam.simulator.fleet import ROADS
from citycam.simulator.stats import percentile
from services.registry.search import SEARCH_WALK_MIN, search_conditions

HERE = Path(__file__).resolve().parent
console = Console(stderr=True)
DIALECT = asyncpg_dialect()

EXTRA_QUERIES = ["nguyen", "vong xoay", "nga tu", "huong", "ho chi minh", "q1", "bth", "duong", "binh", "tan"]
EXTRA_QUERIES += ["vong xoay au co", "cau sai gon", "phuong 7", "xyzzy", "e"]
WALK_ROWS = SEARCH_WALK_MIN
PAGE = 101
INSERTS = 10_000

# The shipped column's text: code, name, address and road, framed by spaces (shared/models/camera.py).
SOURCE = "' ' || " + " || ' ' || ".join(f"coalesce({c}, '')" for c in ("code", "name", "address", "road")) + " || ' '"
UNACCENT_SETUP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # The dictionary is named, so the result cannot change with search_path: IMMUTABLE is then true.
    "CREATE OR REPLACE FUNCTION bench_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
    " AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
]
UNACCENT_EXPR = (
    "lower(translate(bench_unaccent("
    + SOURCE
    + "), '!\"#$%&()*+,-./:;<=>?@[]^_`{|}~', '                              '))"
)


@dataclass
class Option:
    name: str
    expression: str  # the indexed text, as SQL over camera
    index: str


OPTIONS = [
    Option("generated (translate, shipped)", "search_text", "bench_ix_generated"),
    Option("unaccent() wrapper", UNACCENT_EXPR, "bench_ix_unaccent"),
]


@dataclass
class Figures:
    build_s: float
    insert_s: float
    walk: list[float]
    index: list[float]
    matches_agree: bool


def like_words(q: str, expression: str) -> str:
    """The registry's own search conditions (search.search_conditions) over `expression`, as SQL."""
    conditions = search_conditions(q, literal_column(expression))
    return " AND ".join(str(c.compile(dialect=DIALECT, compile_kwargs={"literal_binds": True})) for c in conditions)


async def timed(conn: asyncpg.Connection, sql: str, repeats: int, *, index_scans: bool = True) -> list[float]:
    """Milliseconds of `repeats` runs of sql after one warm-up run, in a transaction of its own."""
    samples = []
    async with conn.transaction():
        if not index_scans:
            await conn.execute("SET LOCAL enable_indexscan = off")
        await conn.fetch(sql)
        for _ in range(repeats):
            started = time.perf_counter()
            await conn.fetch(sql)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure(conn: asyncpg.Connection, option: Option, queries: dict[str, int], repeats: int) -> Figures:
    """Build the option's index, time an insert burst and both reads over every query."""
    started = time.perf_counter()
    await conn.execute(
        f"CREATE INDEX {option.index} ON camera USING gin (({option.expression}) gin_trgm_ops) WITH (fastupdate = off)"
    )
    build_s = time.perf_counter() - started
    await conn.execute("ANALYZE camera")
    # Rolled back: every option must see the same table.
    insert = conn.transaction()
    await insert.start()
    started = time.perf_counter()
    await conn.execute(
        "INSERT INTO camera (id, code, name, latitude, longitude, address, district, road)"
        " SELECT gen_random_uuid(), 'ZZ-' || code, name, latitude, longitude, address, district, road"
        f" FROM camera ORDER BY code LIMIT {INSERTS}"
    )
    insert_s = time.perf_counter() - started
    await insert.rollback()
    walk: list[float] = []
    index: list[float] = []
    agree = True
    for q, shipped_matches in queries.items():
        where = like_words(q, option.expression)
        walked = f"SELECT * FROM camera ORDER BY code LIMIT {WALK_ROWS}"
        walk += await timed(conn, f"SELECT id FROM ({walked}) c WHERE {where} ORDER BY code LIMIT {PAGE}", repeats)
        index += await timed(
            conn, f"SELECT id FROM camera WHERE {where} ORDER BY code LIMIT {PAGE}", repeats, index_scans=False
        )
        agree &= await conn.fetchval(f"SELECT count(*) FROM camera WHERE {where}") == shipped_matches
    await conn.execute(f"DROP INDEX {option.index}")
    return Figures(build_s, insert_s, walk, index, agree)


async def run_server(
    url: str, cameras: int, repeats: int, say: Callable[[str], None]
) -> tuple[str, dict[str, Figures]]:
    """Load the cameras on one server's scratch database and measure every option there."""
    say(f"loading {cameras:,} cameras")
    await load(url, cameras)
    conn = await asyncpg.connect(url)
    try:
        version = str(await conn.fetchval("SHOW server_version")).split()[0]
        for statement in UNACCENT_SETUP:
            await conn.execute(statement)
        roads = sorted({unaccent(r) for roads in ROADS.values() for r in roads})
        queries = {
            q: await conn.fetchval(f"SELECT count(*) FROM camera WHERE {like_words(q, 'search_text')}")
            for q in roads + EXTRA_QUERIES
        }
        # Each option is measured with its own index alone.
        await conn.execute("DROP INDEX ix_camera_search_text")
        results = {}
        for option in OPTIONS:
            say(f"PostgreSQL {version}: {option.name}, {len(queries)} queries x {repeats}")
            results[option.name] = await measure(conn, option, queries, repeats)
            if option is OPTIONS[0]:
                # The other option needs no generated column: its inserts must not pay for one.
                await conn.execute("ALTER TABLE camera DROP COLUMN search_text")
        return version, results
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    """Remove the scratch database from a server that is not ours."""
    base, _, _ = server_url.rpartition("/")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def report(runs: list[tuple[str, str, dict[str, Figures]]], cameras: int, command: str) -> str:
    """The markdown table of every server and option."""
    lines = [
        "# accent-free search: generated column vs unaccent()",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- {cameras:,} bench cameras per server; command: `{command}`",
        f"- walk: the words checked on the first {WALK_ROWS:,} cameras in code order; index read: every match"
        f" through the trigram index (index scans off), sorted, first {PAGE} rows; ms per query, all queries",
        "",
        "| server | option | index build | insert 10,000 | walk p50 / p99 | index read p50 / p99 | same matches |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for server, version, results in runs:
        for name, f in results.items():
            lines.append(
                f"| PostgreSQL {version} ({server}) | {name} | {f.build_s:.2f} s | {f.insert_s:.2f} s"
                f" | {statistics.median(f.walk):.2f} / {percentile(f.walk, 99):.2f} ms"
                f" | {statistics.median(f.index):.2f} / {percentile(f.index, 99):.2f} ms"
                f" | {'yes' if f.matches_agree else 'NO'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_options", description=__doc__)
    parser.add_argument("--database-url", action="append", default=[], help="another server to measure on")
    parser.add_argument("--no-embedded", action="store_true", help="only the --database-url servers")
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of each query")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work-dir", type=Path, default=HERE / ".work-search")
    parser.add_argument("--database-name", default="citycam_search_options")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()

    def say(message: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.1f}s[/] {message}", highlight=False)

    servers: list[tuple[str, str | None]] = [] if args.no_embedded else [("embedded", None)]
    servers += [("given server", url) for url in args.database_url]
    runs = []
    for label, server_url in servers:
        stack = BenchStack(work_dir=args.work_dir, server_url=server_url, database_name=args.database_name)
        try:
            url = stack.start_database()
            version, results = asyncio.run(run_server(url, args.cameras, args.repeats, say))
            runs.append((label, version, results))
        finally:
            if server_url is not None:
                asyncio.run(drop_database(server_url, args.database_name))
            stack.stop()
    command = "python -m bench.search_options" + "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    text = report(runs, args.cameras, command)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_options.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
