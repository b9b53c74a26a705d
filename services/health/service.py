"""Health aggregates over the evaluator's verdicts: the last pass's meta and ETag, the summary, groups
and the /metrics gauges, cached per verdict generation."""

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.schemas import ByStatus, GroupItem, Groups, Summary
from shared.models import STATUSES

GROUP_COLUMNS = {
    "district": "h.district",
    "ward": "h.ward",
    "vendor": "h.vendor",
    "model": "h.model",
    "kind": "h.kind",
    "owner": "h.owner",
    "gateway": "h.gateway_id::text",
}

# Aggregates are cached per verdict generation: while nothing changes, polling costs one tiny read.
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 256


def _cached(key: tuple[Any, ...]) -> Any:
    value = _CACHE.get(key)
    if value is not None:
        _CACHE.move_to_end(key)
    return value


def _store(key: tuple[Any, ...], value: Any) -> Any:
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


async def current_meta(session: AsyncSession) -> Any:
    """The last pass (generation, as_of, stale, newest heartbeat) and the DB clock; None before the first pass."""
    return (
        await session.execute(
            text(
                "SELECT generation, evaluated_at, as_of, stale, newest_heartbeat_at, counts,"
                " clock_timestamp() AS now FROM health_meta WHERE id = 1"
            )
        )
    ).first()


def etag_for(meta: Any, *parts: object) -> str:
    """A weak ETag that changes whenever any verdict (or the stale flag) changes."""
    generation = meta.generation if meta is not None else 0
    stale = int(meta.stale) if meta is not None else 0
    # The query parts are hashed: they are client text, and a header must stay ASCII whatever was asked.
    query = "\x1f".join(str(p) for p in parts if p is not None)
    suffix = hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()[:12] if query else ""
    return f'W/"{generation:x}-{stale}{"-" + suffix if suffix else ""}"'


def _availability(counts: ByStatus) -> float | None:
    up = counts.online + counts.degraded
    monitored = up + counts.offline
    return round(100.0 * up / monitored, 3) if monitored else None


async def summary(session: AsyncSession, *, meta: Any) -> Summary:
    """City-wide counts by status, from the last pass (which stored them with its generation)."""
    key = ("summary", meta.generation) if meta is not None else None
    cached = _cached(key) if key else None
    if cached is None and meta is not None and meta.counts:
        cached = (ByStatus(**meta.counts["by_status"]), meta.counts["flapping"], meta.counts["open_incidents"])
    if cached is None:
        rows = (
            await session.execute(
                text(
                    "SELECT status, count(*) AS n, count(*) FILTER (WHERE flapping) AS flapping"
                    " FROM camera_health GROUP BY status"
                )
            )
        ).all()
        open_incidents = (
            await session.execute(text("SELECT count(*) FROM incident WHERE state = 'open'"))
        ).scalar_one()
        counts = ByStatus(**{r.status: r.n for r in rows})
        cached = (counts, sum(r.flapping for r in rows), open_incidents)
        if key:
            _store(key, cached)
    counts, flapping, open_incidents = cached
    age = None
    if meta is not None and meta.newest_heartbeat_at is not None:
        age = round(max(0.0, (meta.now - meta.newest_heartbeat_at).total_seconds()), 3)
    return Summary(
        total=sum(counts.model_dump().values()),
        by_status=counts,
        availability_pct=_availability(counts),
        as_of=meta.as_of if meta else None,
        evaluated_at=meta.evaluated_at if meta else None,
        stale=bool(meta.stale) if meta else False,
        newest_heartbeat_age_s=age,
        flapping=flapping,
        open_incidents=open_incidents,
    )


async def groups(session: AsyncSession, *, meta: Any, by: str, district: str | None) -> Groups:
    """Counts by status per group value, from the last pass."""
    key = ("groups", meta.generation, by, district) if meta is not None else None
    cached = _cached(key) if key else None
    if cached is not None:
        return Groups.model_validate(cached)
    if by == "district" and district is None and meta is not None and meta.counts and "by_district" in meta.counts:
        # The wall's favourite view: stored by the pass with its generation.
        stored = [
            _Row(code, status, n)
            for code, statuses in meta.counts["by_district"].items()
            for status, n in statuses.items()
        ]
        result = _groups_from_rows(by, stored, {})
        if key:
            _store(key, result.model_dump())
        return result
    where = "WHERE h.district = :district" if district else ""
    if by == "tag":
        sql = f"SELECT t AS key, h.status, count(*) AS n FROM camera_health h, unnest(h.tags) t {where} GROUP BY 1, 2"
    else:
        sql = f"SELECT {GROUP_COLUMNS[by]} AS key, h.status, count(*) AS n FROM camera_health h {where} GROUP BY 1, 2"
    rows = (await session.execute(text(sql), {"district": district} if district else {})).all()
    labels: dict[str, str] = {}
    if by == "gateway":
        ids = [uuid.UUID(r.key) for r in rows if r.key]
        if ids:
            found = await session.execute(text("SELECT id::text, code FROM gateway WHERE id = ANY(:ids)"), {"ids": ids})
            labels = {r.id: r.code for r in found}
    result = _groups_from_rows(by, rows, labels)
    if key:
        _store(key, result.model_dump())
    return result


@dataclass
class _Row:
    key: str | None
    status: str
    n: int


def _groups_from_rows(by: str, rows: Sequence[Any], labels: dict[str, str]) -> Groups:
    table: dict[str | None, dict[str, int]] = {}
    for r in rows:
        table.setdefault(r.key, {})[r.status] = r.n
    items = []
    for k in sorted(table, key=lambda x: (x is None, x or "")):
        counts = ByStatus(**table[k])
        items.append(
            GroupItem(
                key=k,
                label=labels.get(k) if k else None,
                total=sum(table[k].values()),
                by_status=counts,
                availability_pct=_availability(counts),
            )
        )
    return Groups(by=by, items=items)


async def camera_counts(session: AsyncSession, *, meta: Any) -> list[tuple[str, str, int]]:
    """(status, district, count) for the /metrics gauges: bounded labels, never one series per camera."""
    key = ("metrics", meta.generation) if meta is not None else None
    cached = _cached(key) if key else None
    if cached is None:
        rows = (
            await session.execute(text("SELECT status, district, count(*) AS n FROM camera_health GROUP BY 1, 2"))
        ).all()
        present: dict[str, dict[str, int]] = {}
        for r in rows:
            present.setdefault(r.district, {})[r.status] = r.n
        cached = [(s, d, present[d].get(s, 0)) for d in sorted(present) for s in STATUSES]
        if key:
            _store(key, cached)
    return list(cached)
