"""Availability: the share of time cameras were up over a window, from the recorded transitions."""

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.schemas import Availability, AvailabilityItem
from services.health.service import GROUP_COLUMNS
from shared.errors import ValidationFailed

_WINDOW_RE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_WINDOW = timedelta(days=366)


def parse_window(raw: str) -> timedelta:
    """1h, 24h, 7d, 30m ... or an ISO 8601 duration (PT1H, P7D, P1DT12H); 422 otherwise."""
    match = _WINDOW_RE.match(raw)
    window: timedelta | None = None
    if match:
        window = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    elif raw.startswith("P"):
        try:
            window = TypeAdapter(timedelta).validate_python(raw)
        except ValidationError:
            window = None
    if window is None or window <= timedelta(0) or window > MAX_WINDOW:
        raise ValidationFailed(
            "window must be like 1h, 24h, 7d or an ISO 8601 duration (PT1H, P7D), at most 366 days",
            errors=[{"loc": ["query", "window"], "msg": "expected 1h, 24h, 7d or an ISO 8601 duration"}],
        )
    return window


_AVAILABILITY_SQL = """
WITH cams AS (
    SELECT h.camera_id, {key} AS key FROM camera_health h JOIN camera c ON c.id = h.camera_id {join} {where}
),
timeline AS (
    SELECT c.camera_id, c.key, e.to_status AS status, CAST(:start AS timestamptz) AS at, 0::bigint AS id
    FROM cams c
    CROSS JOIN LATERAL (
        SELECT to_status FROM status_event e
        WHERE e.camera_id = c.camera_id AND e.at <= :start ORDER BY e.at DESC, e.id DESC LIMIT 1
    ) e
    UNION ALL
    SELECT c.camera_id, c.key, e.to_status, e.at, e.id
    FROM cams c JOIN status_event e ON e.camera_id = c.camera_id
    WHERE e.at > :start AND e.at < :end
),
segments AS (
    SELECT key, status,
           EXTRACT(EPOCH FROM LEAD(at, 1, CAST(:end AS timestamptz)) OVER (PARTITION BY camera_id, key ORDER BY at, id)
                   - at) AS secs
    FROM timeline
)
SELECT key, status, sum(secs)::float8 AS secs FROM segments GROUP BY key, status
"""


async def availability(
    session: AsyncSession, *, window_raw: str, end: datetime | None, by: str | None, district: str | None
) -> Availability:
    """Time online/degraded/offline per group over the window, from the recorded transitions.

    Time before a camera's first transition, in maintenance, or in `unknown` (never reported) is kept out
    of the denominator; the last two are reported apart.
    """
    window = parse_window(window_raw)
    if end is None:
        end = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    start = end - window
    where = "WHERE h.district = :district" if district else ""
    join = ""
    if by is None:
        key = "NULL::text"
    elif by == "tag":
        key, join = "t", ", unnest(h.tags) t"
    else:
        key = GROUP_COLUMNS[by]
    sql = _AVAILABILITY_SQL.format(key=key, join=join, where=where)
    params: dict[str, Any] = {"start": start, "end": end}
    if district:
        params["district"] = district
    rows = (await session.execute(text(sql), params)).all()
    count_sql = f"SELECT {key} AS key, count(*) AS n FROM camera_health h {join} {where} GROUP BY 1"
    cameras = {r.key: r.n for r in (await session.execute(text(count_sql), params)).all()}
    per: dict[str | None, dict[str, float]] = {k: {} for k in cameras}
    for r in rows:
        per.setdefault(r.key, {})[r.status] = per.get(r.key, {}).get(r.status, 0.0) + (r.secs or 0.0)

    def item(key: str | None, secs: dict[str, float], n: int) -> AvailabilityItem:
        online, degraded, offline = secs.get("online", 0.0), secs.get("degraded", 0.0), secs.get("offline", 0.0)
        monitored = online + degraded + offline
        return AvailabilityItem(
            key=key,
            cameras=n,
            availability_pct=round(100 * (online + degraded) / monitored, 3) if monitored else None,
            online_pct=round(100 * online / monitored, 3) if monitored else None,
            online_s=round(online, 3),
            degraded_s=round(degraded, 3),
            offline_s=round(offline, 3),
            maintenance_s=round(secs.get("maintenance", 0.0), 3),
            never_reported_s=round(secs.get("unknown", 0.0), 3),
        )

    totals: dict[str, float] = {}
    for secs in per.values():
        for status, value in secs.items():
            totals[status] = totals.get(status, 0.0) + value
    n_total = (
        sum(cameras.values())
        if by != "tag"
        else int(
            await session.scalar(
                text(f"SELECT count(*) FROM camera_health h {where}"), {"district": district} if district else {}
            )
            or 0
        )
    )
    items = (
        []
        if by is None
        else [item(k, per[k], cameras.get(k, 0)) for k in sorted(per, key=lambda x: (x is None, x or ""))]
    )
    return Availability(
        window=window_raw,
        start=start,
        end=end,
        by=by,
        total=item(None, totals, n_total),
        items=items,
    )
