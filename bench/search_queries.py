"""p50/p99 of GET /v1/cameras?q=... over HTTP against a running registry, one request at a time.

    python -m bench.search_queries DSN BASE_URL [REQUESTS_PER_QUERY] [QUERY ...]

DSN is the registry's database (loaded with `python -m bench.load DSN`; an admin API key is inserted
there for the run); BASE_URL the running service (e.g. http://127.0.0.1:18201). Each query is sent
REQUESTS_PER_QUERY times (default 300) after 10 warm-up requests; the figures are printed one line per query.
"""

import asyncio
import statistics
import sys
import time

import asyncpg
import httpx

from bench.load import insert_admin_key
from citycam.simulator.stats import percentile

QUERIES = [
    "q1",
    "bth",
    "vong xoay au co",
    "Vòng xoay Âu Cơ",
    "cau sai gon",
    "binh thanh",
    "thu duc",
    "nga tu hang xanh",
    "nguyen",
    "quoc lo 1a",
    "le loi",
    "duong",
    "phuong 7",
    "xyzzy",
]


async def bench(dsn: str, base_url: str, count: int, queries: list[str]) -> None:
    """Time each query count times and print p50/p99/max in ms with the number of items."""
    conn = await asyncpg.connect(dsn)
    try:
        key = await insert_admin_key(conn, "bench-search")
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        for q in queries:
            items = 0
            for _ in range(10):
                response = await client.get("/v1/cameras", params={"q": q})
                response.raise_for_status()
                items = len(response.json()["items"])
            samples = []
            for _ in range(count):
                start = time.perf_counter()
                response = await client.get("/v1/cameras", params={"q": q})
                samples.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
            print(
                f"{q!r:24} items={items:4} p50={statistics.median(samples):6.1f} ms "
                f"p99={percentile(samples, 99) or 0.0:6.1f} ms max={max(samples):6.1f} ms",
                flush=True,
            )


def main(argv: list[str]) -> None:
    """Command line: DSN BASE_URL [COUNT] [QUERY ...]."""
    if len(argv) < 2:
        sys.exit(__doc__)
    count = int(argv[2]) if len(argv) > 2 else 300
    asyncio.run(bench(argv[0], argv[1], count, argv[3:] or QUERIES))


if __name__ == "__main__":
    main(sys.argv[1:])
