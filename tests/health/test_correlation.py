"""Stale-ingest guard, incidents, flapping and availability, at injected moments."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.health.conftest import add_area, add_camera, add_gateway, at, events_of, health_row, heartbeat
from tests.helpers import bearer


async def _fleet(session, n, **kwargs):
    return [await add_camera(session, f"C-{i:03d}", **kwargs) for i in range(n)]


async def test_stale_ingest_holds_cameras_and_says_so(health, make_key, session, run_pass) -> None:
    cams = await _fleet(session, 4, interval=5)
    for cam in cams:
        await heartbeat(session, cam, at(0))
    result = await run_pass(60, stale_min_cameras=3, stale_after_s=10)
    assert result.stale
    assert {(await health_row(session, c)).status for c in cams} != {"offline"}
    summary = (await health.get("/v1/health/summary", headers=bearer(await make_key("monitor")))).json()
    assert summary["stale"] is True
    assert summary["by_status"]["offline"] == 0


async def test_stale_ingest_opens_one_ingest_incident_and_closes_it(session, run_pass) -> None:
    cams = await _fleet(session, 4, interval=5)
    for cam in cams:
        await heartbeat(session, cam, at(0))
    await run_pass(60, stale_min_cameras=3, stale_after_s=10)
    await run_pass(61, stale_min_cameras=3, stale_after_s=10)
    rows = (await session.execute(text("SELECT kind, state FROM incident"))).all()
    assert [(r.kind, r.state) for r in rows] == [("ingest", "open")]
    for cam in cams:
        await heartbeat(session, cam, at(62))
    result = await run_pass(62.5, stale_min_cameras=3, stale_after_s=10)
    assert not result.stale
    assert (await session.execute(text("SELECT state FROM incident"))).scalar_one() == "closed"


async def test_a_camera_that_died_before_the_silence_still_goes_offline(session, run_pass) -> None:
    cams = await _fleet(session, 4, interval=5)
    for cam in cams[1:]:
        await heartbeat(session, cam, at(30))
    await heartbeat(session, cams[0], at(0))
    await run_pass(90, stale_min_cameras=3, stale_after_s=10)
    assert (await health_row(session, cams[0])).status == "offline"
    assert (await health_row(session, cams[1])).status != "offline"


async def test_below_the_minimum_fleet_silence_is_just_silence(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=5)
    await heartbeat(session, cam, at(0))
    result = await run_pass(100)
    assert not result.stale
    assert (await health_row(session, cam)).status == "offline"


async def test_a_gateway_going_dark_is_one_incident(health, make_key, session, run_pass) -> None:
    gw = await add_gateway(session, "NVR-7")
    cams = await _fleet(session, 5, interval=5, gateway_id=gw)
    for cam in cams:
        await heartbeat(session, cam, at(0))
    await run_pass(1)
    await run_pass(16)
    incidents = (await health.get("/v1/health/incidents", headers=bearer(await make_key("monitor")))).json()["items"]
    assert len(incidents) == 1
    incident = incidents[0]
    assert (incident["kind"], incident["state"], incident["camera_count"]) == ("gateway", "open", 5)
    assert "NVR-7" in incident["cause"]
    offline_events = [e for c in cams for e in await events_of(session, c) if e.to_status == "offline"]
    assert {e.incident_id for e in offline_events} == {incident["id"]}


async def test_an_incident_closes_when_its_cameras_recover(session, run_pass) -> None:
    gw = await add_gateway(session, "NVR-7")
    cams = await _fleet(session, 5, interval=5, gateway_id=gw)
    for cam in cams:
        await heartbeat(session, cam, at(0))
    await run_pass(16)
    for cam in cams[:4]:
        await heartbeat(session, cam, at(30))
    await run_pass(30.5)
    assert (await session.execute(text("SELECT state FROM incident"))).scalar_one() == "open"
    await heartbeat(session, cams[4], at(31))
    result = await run_pass(31.5)
    assert result.incidents_closed
    assert (await session.execute(text("SELECT state FROM incident"))).scalar_one() == "closed"
    recoveries = [e for c in cams for e in await events_of(session, c) if e.to_status == "online" and e.from_status]
    assert all(e.incident_id is not None for e in recoveries)


async def test_a_ward_outage_is_one_area_incident(session, run_pass) -> None:
    await add_area(session, "Q1-W1")
    cams = await _fleet(session, 6, interval=5, ward="Q1-W1")
    for cam in cams:
        await heartbeat(session, cam, at(0))
    await run_pass(16)
    rows = (await session.execute(text("SELECT kind, scope, camera_count FROM incident"))).all()
    assert [(r.kind, r.scope, r.camera_count) for r in rows] == [("ward", "Q1-W1", 6)]


async def test_fewer_than_k_cameras_is_no_incident(session, run_pass) -> None:
    cams = await _fleet(session, 4, interval=5)
    for cam in cams:
        await heartbeat(session, cam, at(0))
    await run_pass(16, incident_min_cameras=5)
    assert (await session.execute(text("SELECT count(*) FROM incident"))).scalar_one() == 0


async def test_outages_spread_over_more_than_t_are_not_correlated(session, run_pass) -> None:
    cams = await _fleet(session, 5, interval=5)
    for i, cam in enumerate(cams):
        await heartbeat(session, cam, at(i * 100))
    for i in range(5):
        await run_pass(i * 100 + 16, incident_window_s=60)
    assert (await session.execute(text("SELECT count(*) FROM incident"))).scalar_one() == 0


async def test_a_late_joiner_is_added_to_the_open_incident(session, run_pass) -> None:
    cams = await _fleet(session, 6, interval=5)
    for cam in cams[:5]:
        await heartbeat(session, cam, at(0))
    await heartbeat(session, cams[5], at(10))
    await run_pass(16)
    await run_pass(26)
    row = (await session.execute(text("SELECT camera_count FROM incident"))).one()
    assert row.camera_count == 6


async def test_flapping_is_flagged_and_its_events_damped(health, make_key, session, run_pass) -> None:
    cam = await add_camera(session, "Q1-FLAP", interval=5)
    t = 0.0
    for _ in range(4):
        await heartbeat(session, cam, at(t))
        await run_pass(t + 0.5, flap_changes=3)
        await run_pass(t + 16, flap_changes=3)
        t += 20
    assert (await health_row(session, cam)).flapping
    events = [e for e in await events_of(session, cam) if e.from_status]
    assert events[-1].damped and not events[0].damped
    listed = (await health.get("/v1/health/cameras?flapping=true", headers=bearer(await make_key("monitor")))).json()[
        "items"
    ]
    assert [c["code"] for c in listed] == ["Q1-FLAP"]


async def test_flapping_clears_after_a_quiet_window(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-FLAP", interval=5)
    t = 0.0
    for _ in range(4):
        await heartbeat(session, cam, at(t))
        await run_pass(t + 0.5, flap_changes=3, flap_window_s=300)
        await run_pass(t + 16, flap_changes=3, flap_window_s=300)
        t += 20
    await heartbeat(session, cam, at(1000))
    await run_pass(1000.5, flap_changes=3, flap_window_s=300)
    assert not (await health_row(session, cam)).flapping


async def _history(session, camera_id, steps):
    for i, (offset, status) in enumerate(steps):
        await session.execute(
            text(
                "INSERT INTO status_event (camera_id, code, district, from_status, to_status, reason, at)"
                " VALUES (:c, 'X', 'Q1', :f, :t, 'test', :at)"
            ),
            {"c": camera_id, "f": steps[i - 1][1] if i else None, "t": status, "at": at(offset)},
        )


async def test_availability_arithmetic_on_a_hand_made_history(health, make_key, session, run_pass) -> None:
    a = await add_camera(session, "Q1-A", district="Q1")
    b = await add_camera(session, "BTH-B", district="BTH")
    await run_pass(-10_000)  # both monitored (unknown); the history below is what counts
    await session.execute(text("DELETE FROM status_event"))
    # Window: [0, 3600). A: online 0-1800, offline 1800-2700, online 2700-3600 -> 75%.
    await _history(session, a, [(-100, "online"), (1800, "offline"), (2700, "online")])
    # B: never reported until 600, then online 600-1200, maintenance 1200-2400, degraded 2400-3600.
    await _history(session, b, [(-50, "unknown"), (600, "online"), (1200, "maintenance"), (2400, "degraded")])
    end = at(3600).isoformat().replace("+00:00", "Z")
    r = await health.get(
        f"/v1/health/availability?window=1h&by=district&end={end}", headers=bearer(await make_key("monitor"))
    )
    body = r.json()
    items = {i["key"]: i for i in body["items"]}
    assert items["Q1"]["online_s"] == 2700 and items["Q1"]["offline_s"] == 900
    assert items["Q1"]["availability_pct"] == 75.0
    assert items["BTH"]["never_reported_s"] == 600 and items["BTH"]["maintenance_s"] == 1200
    assert items["BTH"]["availability_pct"] == 100.0  # 600 online + 1200 degraded, nothing offline
    total = body["total"]
    assert total["online_s"] == 3300 and total["degraded_s"] == 1200 and total["offline_s"] == 900
    assert total["availability_pct"] == pytest.approx(100 * 4500 / 5400, abs=0.001)


@pytest.mark.parametrize(("window", "seconds"), [("1h", 3600), ("24h", 86400), ("7d", 604800), ("PT90M", 5400)])
async def test_availability_windows(health, make_key, window, seconds) -> None:
    r = await health.get(f"/v1/health/availability?window={window}", headers=bearer(await make_key("monitor")))
    assert r.status_code == 200
    body = r.json()
    from datetime import datetime

    span = datetime.fromisoformat(body["end"]) - datetime.fromisoformat(body["start"])
    assert span == timedelta(seconds=seconds)


@pytest.mark.parametrize("window", ["0h", "forever", "P9999D", "-1h", "1y"])
async def test_bad_windows_are_422(health, make_key, window) -> None:
    r = await health.get(f"/v1/health/availability?window={window}", headers=bearer(await make_key("monitor")))
    assert r.status_code == 422
