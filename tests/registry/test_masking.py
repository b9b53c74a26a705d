"""A canary stream password must never appear in a response, a log line, an audit row or a stored column."""

import json
import logging

import pytest
from sqlalchemy import text

from shared.logs import JsonFormatter

CANARY = "Canary-pw-7f3c9e"
URL = f"rtsp://admin:{CANARY}@10.9.8.7:554/Streaming/Channels/101"
MASKED = "rtsp://***@10.9.8.7:554/Streaming/Channels/101"


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _assert_no_canary_in_logs(caplog) -> None:
    formatter = JsonFormatter("registry")
    assert any(r.getMessage().startswith("import done") for r in caplog.records)
    for record in caplog.records:
        assert CANARY not in formatter.format(record)


async def test_canary_never_leaves_the_registry(registry, admin, session, all_logs) -> None:
    bodies: list[str] = []
    r = await registry.post(
        "/v1/cameras", json={**_camera(), "stream_url": URL}, headers={**admin, "X-Request-ID": "canary-1"}
    )
    assert r.status_code == 201
    assert r.json()["stream_url"] == MASKED
    bodies.append(r.text)
    r = await registry.patch(
        "/v1/cameras/CANARY-1", json={"stream_url": URL.replace(CANARY, CANARY + "-2")}, headers=admin
    )
    bodies.append(r.text)
    for path in (
        "/v1/cameras/CANARY-1",
        "/v1/cameras",
        "/v1/cameras?q=canary",
        "/v1/cameras/CANARY-1/changes",
        "/v1/cameras/export",
    ):
        r = await registry.get(path, headers=admin)
        assert r.status_code == 200
        bodies.append(r.text)
    r = await registry.post(
        "/v1/cameras/import",
        content=f"code,name,latitude,longitude,district,stream_url\nCANARY-2,x,10.8,106.7,BTH,{URL}\n"
        f"CANARY-3,x,99,106.7,BTH,{URL}\n".encode(),
        headers={**admin, "content-type": "text/csv"},
    )
    assert r.json()["created"] == 1
    bodies.append(r.text)
    line = json.dumps(
        {"code": "CANARY-4", "name": "x", "latitude": 10.8, "longitude": 106.7, "district": "NOPE", "stream_url": URL}
    )
    r = await registry.post(
        "/v1/cameras/import", content=line.encode(), headers={**admin, "content-type": "application/x-ndjson"}
    )
    bodies.append(r.text)
    # Refused writes must not echo it either.
    for bad in ({"stream_url": URL.replace("rtsp", "ftp")}, {"stream_url": URL, "latitude": 200}):
        r = await registry.post("/v1/cameras", json={**_camera(code="CANARY-9"), **bad}, headers=admin)
        assert r.status_code == 422
        bodies.append(r.text)
    for body in bodies:
        assert CANARY not in body
    rows = (await session.execute(text("SELECT row_to_json(c)::text FROM camera c"))).scalars().all()
    audit = (await session.execute(text("SELECT row_to_json(a)::text FROM camera_change a"))).scalars().all()
    assert rows and audit
    for stored in [*rows, *audit]:
        assert CANARY not in stored
    _assert_no_canary_in_logs(all_logs)


async def test_a_credentials_change_is_audited_as_stars(registry, admin) -> None:
    await registry.post("/v1/cameras", json={**_camera(), "stream_url": URL}, headers=admin)
    await registry.patch("/v1/cameras/CANARY-1", json={"stream_url": URL.replace(CANARY, "other")}, headers=admin)
    change = (await registry.get("/v1/cameras/CANARY-1/changes", headers=admin)).json()["items"][0]
    assert change["changes"] == {"stream_credentials": {"from": "***", "to": "***"}}


async def test_a_masked_url_sent_back_keeps_the_credentials(registry, admin, session) -> None:
    await registry.post("/v1/cameras", json={**_camera(), "stream_url": URL}, headers=admin)
    before = (await session.execute(text("SELECT stream_credentials_hash FROM camera"))).scalar()
    r = await registry.patch("/v1/cameras/CANARY-1", json={"stream_url": MASKED}, headers=admin)
    assert r.json()["version"] == 1
    after = (await session.execute(text("SELECT stream_credentials_hash FROM camera"))).scalar()
    assert after == before is not None


def _camera(code: str = "CANARY-1") -> dict:
    return {"code": code, "name": "Canary", "latitude": 10.8, "longitude": 106.7, "district": "BTH"}
