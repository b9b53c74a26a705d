"""Status derivation rules, at injected moments: offline timing, lateness, metric thresholds, exclusions."""

import pytest

from tests.health.conftest import add_camera, at, events_of, health_row, heartbeat


async def test_a_fresh_heartbeat_is_online_with_reason_and_since(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001")
    await heartbeat(session, cam, at(0), fps=25.0)
    await run_pass(1)
    row = await health_row(session, cam)
    assert (row.status, row.reason, row.since) == ("online", "reporting normally", at(0))


async def test_five_second_camera_is_not_offline_at_exactly_fifteen_seconds(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=5)
    await heartbeat(session, cam, at(0))
    await run_pass(1)
    await run_pass(15)
    assert (await health_row(session, cam)).status != "offline"


async def test_five_second_camera_is_offline_just_after_fifteen_seconds(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=5)
    await heartbeat(session, cam, at(0))
    await run_pass(1)
    await run_pass(15.001)
    row = await health_row(session, cam)
    assert row.status == "offline"
    assert row.since == at(15)
    assert "15" in row.reason


async def test_the_offline_event_says_when_the_threshold_was_crossed(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=5)
    await heartbeat(session, cam, at(0))
    await run_pass(1)
    await run_pass(16.5)
    last = (await events_of(session, cam))[-1]
    assert (last.from_status, last.to_status, last.at) == ("online", "offline", at(15))


async def test_offline_factor_is_configurable(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=10)
    await heartbeat(session, cam, at(0))
    await run_pass(45, offline_factor=5)
    assert (await health_row(session, cam)).status == "degraded"
    await run_pass(50.5, offline_factor=5)
    assert (await health_row(session, cam)).status == "offline"


async def test_late_past_one_interval_and_grace_is_degraded(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=5)
    await heartbeat(session, cam, at(0))
    await run_pass(10, grace_s=5)
    assert (await health_row(session, cam)).status == "online"
    await run_pass(10.5, grace_s=5)
    row = await health_row(session, cam)
    assert (row.status, row.since) == ("degraded", at(10))
    assert "late" in row.reason


@pytest.mark.parametrize(
    ("metrics", "words"),
    [
        ({"fps": 2.0}, "frame rate"),
        ({"packet_loss_pct": 12.5}, "packet loss"),
        ({"temperature_c": 81.0}, "temperature"),
        ({"storage_free_pct": 1.0}, "storage"),
        ({"errors": ["E_DISK"]}, "E_DISK"),
    ],
)
async def test_trouble_past_a_threshold_is_degraded(session, run_pass, metrics, words) -> None:
    cam = await add_camera(session, "Q1-0001")
    await heartbeat(session, cam, at(0), **metrics)
    await run_pass(1)
    row = await health_row(session, cam)
    assert row.status == "degraded"
    assert words in row.reason


@pytest.mark.parametrize(
    "metrics",
    [{"fps": 5.0}, {"packet_loss_pct": 5.0}, {"temperature_c": 75.0}, {"storage_free_pct": 5.0}, {"errors": []}],
)
async def test_values_at_the_threshold_are_still_online(session, run_pass, metrics) -> None:
    cam = await add_camera(session, "Q1-0001")
    await heartbeat(session, cam, at(0), **metrics)
    await run_pass(1)
    assert (await health_row(session, cam)).status == "online"


async def test_thresholds_are_configurable(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001")
    await heartbeat(session, cam, at(0), fps=12.0)
    await run_pass(1, min_fps=15)
    assert (await health_row(session, cam)).status == "degraded"


async def test_recovery_brings_a_camera_back_online_since_its_heartbeat(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", interval=5)
    await heartbeat(session, cam, at(0))
    await run_pass(20)
    await heartbeat(session, cam, at(30))
    await run_pass(30.2)
    row = await health_row(session, cam)
    assert (row.status, row.since) == ("online", at(30))
    assert [e.to_status for e in await events_of(session, cam)] == ["offline", "online"]


async def test_never_reported_is_unknown(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001")
    await run_pass(100)
    row = await health_row(session, cam)
    assert (row.status, row.reason) == ("unknown", "never reported")


async def test_maintenance_never_alarms(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001", lifecycle="maintenance")
    await heartbeat(session, cam, at(0))
    await run_pass(1000)
    assert (await health_row(session, cam)).status == "maintenance"
    assert [e.to_status for e in await events_of(session, cam)] == ["maintenance"]


@pytest.mark.parametrize("lifecycle", ["planned", "decommissioned"])
async def test_planned_and_decommissioned_are_left_out(session, run_pass, lifecycle) -> None:
    cam = await add_camera(session, "Q1-0001", lifecycle=lifecycle)
    await heartbeat(session, cam, at(0))
    await run_pass(1000)
    assert await health_row(session, cam) is None
    assert await events_of(session, cam) == []


async def test_decommissioning_drops_the_camera_from_health(session, run_pass) -> None:
    from sqlalchemy import text

    cam = await add_camera(session, "Q1-0001")
    await heartbeat(session, cam, at(0))
    await run_pass(1)
    await session.execute(text("UPDATE camera SET lifecycle = 'decommissioned' WHERE id = :id"), {"id": cam})
    await run_pass(2)
    assert await health_row(session, cam) is None


async def test_no_change_no_event(session, run_pass) -> None:
    cam = await add_camera(session, "Q1-0001")
    await heartbeat(session, cam, at(0))
    await run_pass(1)
    await heartbeat(session, cam, at(5))
    result = await run_pass(6)
    assert result.events == 0
    assert len(await events_of(session, cam)) == 1


async def test_a_bulk_import_is_absorbed_over_bounded_passes_known_cameras_first(session, run_pass) -> None:
    from sqlalchemy import text

    known = await add_camera(session, "Q1-KNOWN", interval=5)
    await heartbeat(session, known, at(0))
    await run_pass(1)
    for i in range(150):
        await add_camera(session, f"NEW-{i:03d}")
    result = await run_pass(16, max_changes_per_pass=100)
    assert result.backlog
    assert (await health_row(session, known)).status == "offline"  # not delayed by the import
    result = await run_pass(16.5, max_changes_per_pass=100)
    assert not result.backlog
    total = (await session.execute(text("SELECT count(*) FROM camera_health"))).scalar_one()
    assert total == 151
