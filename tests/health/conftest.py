"""Health test helpers: cameras and heartbeats inserted directly, evaluator passes at an injected `now`."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.evaluator import one_pass
from services.health.pass_result import PassResult
from services.health.settings import HealthSettings
from tests.health.hooks import hooks_url, world  # noqa: F401 - fixtures of the webhook tests
from tests.health.live import live, live_url  # noqa: F401 - fixtures of the tests on real connections

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 + seconds."""
    return T0 + timedelta(seconds=seconds)


async def add_camera(
    session: AsyncSession,
    code: str,
    *,
    district: str = "Q1",
    ward: str | None = None,
    interval: int = 5,
    lifecycle: str = "active",
    gateway_id: uuid.UUID | None = None,
    latitude: float = 10.7769,
    longitude: float = 106.7009,
    vendor: str | None = "Hikvision",
    tags: list[str] | None = None,
    ip: str | None = None,
    stream_url: str | None = None,
    created_at: datetime | None = None,
) -> uuid.UUID:
    """Insert a camera row (as the registry would) and return its id."""
    camera_id = uuid.uuid4()
    await session.execute(
        text(
            """
            INSERT INTO camera (id, code, name, latitude, longitude, district, ward, vendor, lifecycle,
                                heartbeat_interval_s, gateway_id, tags, ip, stream_url, created_at, updated_at)
            VALUES (:id, :code, :name, :lat, :lon, :district, :ward, :vendor, :lifecycle, :interval, :gw,
                    :tags, CAST(:ip AS inet), :stream_url, :created, :created)
            """
        ),
        {
            "id": camera_id,
            "code": code,
            "name": f"Camera {code}",
            "lat": latitude,
            "lon": longitude,
            "district": district,
            "ward": ward,
            "vendor": vendor,
            "lifecycle": lifecycle,
            "interval": interval,
            "gw": gateway_id,
            "tags": tags or [],
            "ip": ip,
            "stream_url": stream_url,
            "created": created_at or T0 - timedelta(hours=1),
        },
    )
    return camera_id


async def add_area(session: AsyncSession, code: str, parent: str = "Q1") -> None:
    """A ward under a district."""
    await session.execute(
        text("INSERT INTO area (code, name, level, parent) VALUES (:c, :c, 'ward', :p) ON CONFLICT DO NOTHING"),
        {"c": code, "p": parent},
    )


async def add_gateway(session: AsyncSession, code: str, *, district: str = "Q1") -> uuid.UUID:
    gateway_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO gateway (id, code, name, district) VALUES (:id, :code, :code, :district)"),
        {"id": gateway_id, "code": code, "district": district},
    )
    return gateway_id


async def heartbeat(session: AsyncSession, camera_id: uuid.UUID, when: datetime, **metrics: Any) -> None:
    """Upsert the camera's latest heartbeat (camera_state), as ingest would."""
    columns = ["camera_id", "received_at", *metrics]
    values = ", ".join(f":{c}" for c in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    # Metrics not given are reset, as a new heartbeat replaces the previous one.
    resets = ", ".join(
        f"{m} = NULL"
        for m in ("fps", "packet_loss_pct", "temperature_c", "storage_free_pct", "errors")
        if m not in metrics
    )
    await session.execute(
        text(
            f"INSERT INTO camera_state ({', '.join(columns)}) VALUES ({values})"
            f" ON CONFLICT (camera_id) DO UPDATE SET {updates}{', ' + resets if resets else ''}"
        ),
        {"camera_id": camera_id, "received_at": when, **metrics},
    )


def settings(**overrides: Any) -> HealthSettings:
    return HealthSettings(**overrides)


@pytest.fixture
def run_pass(session: AsyncSession) -> Callable[..., Awaitable[PassResult]]:
    """Run one evaluator pass at an injected moment (seconds after T0, or a datetime)."""

    async def run(when: float | datetime, **overrides: Any) -> PassResult:
        now = when if isinstance(when, datetime) else at(when)
        result = await one_pass(session, now=now, settings=settings(**overrides))
        await session.commit()
        return result

    return run


async def health_row(session: AsyncSession, camera_id: uuid.UUID) -> Any:
    return (await session.execute(text("SELECT * FROM camera_health WHERE camera_id = :id"), {"id": camera_id})).first()


async def events_of(session: AsyncSession, camera_id: uuid.UUID) -> list[Any]:
    return list(
        (
            await session.execute(
                text("SELECT * FROM status_event WHERE camera_id = :id ORDER BY id"), {"id": camera_id}
            )
        ).all()
    )


@pytest.fixture
async def city(session, run_pass):
    """Six cameras, one of each situation, evaluated at T0+100 s."""
    cams = {}
    gw = await add_gateway(session, "GW-1")
    cams["online"] = await add_camera(session, "Q1-ON", district="Q1", gateway_id=gw, tags=["bridge"], ip="10.1.2.3")
    cams["degraded"] = await add_camera(session, "Q1-DEG", district="Q1", tags=["bridge"])
    cams["offline"] = await add_camera(
        session, "BTH-OFF", district="BTH", vendor="Dahua", stream_url="rtsp://cam.example:8554/live"
    )
    cams["unknown"] = await add_camera(session, "BTH-UNK", district="BTH")
    cams["maintenance"] = await add_camera(session, "BTH-MNT", district="BTH", lifecycle="maintenance")
    cams["decommissioned"] = await add_camera(session, "BTH-DEC", district="BTH", lifecycle="decommissioned")
    await heartbeat(session, cams["online"], at(99))
    await heartbeat(session, cams["degraded"], at(99), fps=1.0)
    await heartbeat(session, cams["offline"], at(0))
    await heartbeat(session, cams["decommissioned"], at(99))
    await run_pass(100)
    return cams
