"""Status events: newest first, since= by id or time, bad since is 422."""

import pytest

from tests.helpers import bearer


async def test_events_newest_first_and_since(health, make_key, city) -> None:
    headers = bearer(await make_key("monitor"))
    events = (await health.get("/v1/health/events", headers=headers)).json()["items"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)
    assert set(events[0]) >= {"id", "camera_id", "code", "district", "from", "to", "reason", "at"}
    after = (await health.get(f"/v1/health/events?since={ids[2]}", headers=headers)).json()["items"]
    assert [e["id"] for e in after] == ids[:2]


@pytest.mark.parametrize("since", ["yesterday", "2026-01-01T00:00:00", "-1"])
async def test_bad_since_is_422(health, make_key, since) -> None:
    r = await health.get(f"/v1/health/events?since={since}", headers=bearer(await make_key("monitor")))
    assert r.status_code == 422
