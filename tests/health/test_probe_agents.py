"""A probe agent gone silent is one incident saying so, which its cameras join; errors degrade."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from tests.health.conftest import add_camera, add_gateway, at, events_of, health_row, heartbeat


async def _agent(session, code: str = "PROBE-Q1", interval: int = 5) -> uuid.UUID:
    gateway_id = await add_gateway(session, code)
    await session.execute(
        text("UPDATE gateway SET kind = 'probe', heartbeat_interval_s = :i WHERE id = :id"),
        {"id": gateway_id, "i": interval},
    )
    return gateway_id


async def _agent_reports(session, gateway_id: uuid.UUID, when: datetime) -> None:
    await session.execute(
        text(
            "INSERT INTO gateway_state (gateway_id, received_at) VALUES (:id, :at)"
            " ON CONFLICT (gateway_id) DO UPDATE SET received_at = EXCLUDED.received_at"
        ),
        {"id": gateway_id, "at": when},
    )


async def _heard_at_zero(session, agent: uuid.UUID, cameras: int, *, interval: int = 5) -> list[uuid.UUID]:
    """Cameras behind the agent, each heard at 0."""
    cams = [await add_camera(session, f"Q1-{i:04d}", interval=interval, gateway_id=agent) for i in range(cameras)]
    for cam in cams:
        await heartbeat(session, cam, at(0))
    return cams


async def _incidents(session):
    return (await session.execute(text("SELECT * FROM incident ORDER BY id"))).all()


async def test_a_silent_agent_is_one_incident_its_cameras_join(session, run_pass) -> None:
    agent = await _agent(session)
    cams = await _heard_at_zero(session, agent, 8)
    await _agent_reports(session, agent, at(0))
    await run_pass(1)
    await run_pass(16)  # agent and cameras past 5 s x 3
    (incident,) = await _incidents(session)
    assert (incident.kind, incident.state, incident.camera_count) == ("gateway", "open", 8)
    assert incident.cause.startswith("probe agent PROBE-Q1 silent since") and "unobserved" in incident.cause
    offline = [e for c in cams for e in await events_of(session, c) if e.to_status == "offline"]
    assert len(offline) == 8 and {e.incident_id for e in offline} == {incident.id}


async def test_an_agent_with_few_cameras_still_opens_its_incident(session, run_pass) -> None:
    agent = await _agent(session)
    cam = await add_camera(session, "Q1-0001", interval=30, gateway_id=agent)
    await heartbeat(session, cam, at(0))
    await _agent_reports(session, agent, at(0))
    await run_pass(16)  # the agent is past its threshold; its camera (30 s) not yet
    (incident,) = await _incidents(session)
    assert incident.state == "open" and "its 1 cameras" in incident.cause
    await run_pass(91)
    (incident,) = await _incidents(session)
    assert incident.camera_count == 1 and (await health_row(session, cam)).incident_id == incident.id


async def test_cameras_offline_before_their_agent_is_called_silent_join_its_incident(session, run_pass) -> None:
    agent = await _agent(session, interval=10)  # silent after 30 s; its 5 s cameras offline after 15 s
    cams = await _heard_at_zero(session, agent, 4)
    await _agent_reports(session, agent, at(0))
    await run_pass(16)
    assert await _incidents(session) == []  # four cameras alone are no incident
    await run_pass(31)
    (incident,) = await _incidents(session)
    assert incident.cause.startswith("probe agent PROBE-Q1 silent") and incident.camera_count == 4
    assert {(await health_row(session, c)).incident_id for c in cams} == {incident.id}
    offline = [e for c in cams for e in await events_of(session, c) if e.to_status == "offline"]
    assert len(offline) == 4 and {e.incident_id for e in offline} == {incident.id}


async def test_a_gateway_incident_of_its_cameras_becomes_the_agent_incident(session, run_pass) -> None:
    agent = await _agent(session, interval=10)
    await _heard_at_zero(session, agent, 6)
    # An incident's cause asks whether its gateway is silent by the wall clock, not the pass's moment:
    # the agent is seen reporting now when its six cameras go offline together...
    await _agent_reports(session, agent, datetime.now(UTC))
    await run_pass(16)
    (before,) = await _incidents(session)
    assert "while the gateway still reports" in before.cause
    await _agent_reports(session, agent, at(0))  # ...and then its last report was at 0 after all
    await run_pass(31)
    (incident,) = await _incidents(session)  # the same one, now saying what is known
    assert incident.id == before.id and incident.cause.startswith("probe agent PROBE-Q1 silent")
    assert incident.details["probe_agent"] is True and incident.camera_count == 6


async def test_the_incident_closes_when_the_agent_and_its_cameras_are_back(session, run_pass) -> None:
    agent = await _agent(session)
    cams = await _heard_at_zero(session, agent, 5)
    await _agent_reports(session, agent, at(0))
    await run_pass(16)
    await _agent_reports(session, agent, at(20))
    await run_pass(20.5)
    assert (await _incidents(session))[0].state == "open"  # its cameras are still offline
    for cam in cams:
        await heartbeat(session, cam, at(21))
    await run_pass(21.5)
    assert (await _incidents(session))[0].state == "closed"


async def test_an_agent_that_never_reported_makes_no_incident(session, run_pass) -> None:
    await _agent(session)
    await run_pass(100)
    assert await _incidents(session) == []


async def test_a_plain_silent_gateway_makes_no_agent_incident(session, run_pass) -> None:
    gateway = await add_gateway(session, "NVR-1")
    await _agent_reports(session, gateway, at(0))
    await run_pass(100)
    assert await _incidents(session) == []


async def test_a_probe_error_code_degrades_with_a_reason_naming_it(session, run_pass) -> None:
    agent = await _agent(session)
    cam = await add_camera(session, "Q1-0001", interval=5, gateway_id=agent)
    await heartbeat(session, cam, at(0), errors=["rtsp_auth"])
    await run_pass(1)
    row = await health_row(session, cam)
    assert row.status == "degraded" and "rtsp_auth" in row.reason
