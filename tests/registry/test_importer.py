"""POST /v1/cameras/import (importer.py): upsert by code, per-row rejects, dry runs, scopes, audit, metrics."""

import logging

from sqlalchemy import func, select

from services.registry import service
from shared.models import Camera, CameraChange, DeviceCredential
from tests.helpers import bearer
from tests.registry.files import HEADER, post_import


async def test_csv_rows_are_created(registry, admin) -> None:
    body = HEADER + "BTH-1,Cầu Sài Gòn,10.79,106.72,BTH,ptz,bridge|traffic\nQ1-1,Bến Thành,10.77,106.69,Q1,,\n"
    r = await post_import(registry, admin, body)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "dry_run": False,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "flagged": [],
        "device_tokens": None,
    }
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert cam["tags"] == ["bridge", "traffic"]
    assert (await registry.get("/v1/cameras/Q1-1", headers=admin)).json()["kind"] == "fixed"


async def test_existing_codes_are_updated_and_audited(registry, admin, create) -> None:
    await create(code="BTH-1", name="old name")
    r = await post_import(registry, admin, "code,name\nBTH-1,new name\n")
    assert r.json()["updated"] == 1
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert cam["name"] == "new name"
    assert cam["road"] == "Xa lộ Hà Nội"  # a column the file does not have is kept
    change = (await registry.get("/v1/cameras/BTH-1/changes", headers=admin)).json()["items"][0]
    assert change["action"] == "import"
    assert change["changes"] == {"name": {"from": "old name", "to": "new name"}}


async def test_dry_run_reports_but_writes_nothing(registry, admin, session) -> None:
    body = HEADER + "BTH-1,A,10.79,106.72,BTH,ptz,\nBTH-2,B,99,106.72,BTH,ptz,\n"
    r = await post_import(registry, admin, body, dry_run=True)
    assert r.json()["dry_run"] is True
    assert r.json()["created"] == 1
    assert [x["line"] for x in r.json()["rejected"]] == [3]
    assert await session.scalar(select(Camera.id).where(Camera.code == "BTH-1")) is None


async def test_rejects_carry_line_code_and_reasons_and_good_rows_still_land(registry, admin, session) -> None:
    body = (
        HEADER
        + "BTH-1,ok,10.79,106.72,BTH,ptz,\n"
        + "BTH-2,bad lat,95,106.72,BTH,ptz,\n"
        + "BTH-3,bad district,10.79,106.72,NOPE,ptz,\n"
        + "BTH-4,bad kind,10.79,106.72,BTH,thermal,\n"
        + "BTH-5,,10.79,106.72,BTH,ptz,\n"
        + "BTH-6,ok too,10.79,106.72,BTH,dome,\n"
    )
    r = await post_import(registry, admin, body)
    result = r.json()
    assert result["created"] == 2
    rejected = {x["line"]: x for x in result["rejected"]}
    assert sorted(rejected) == [3, 4, 5, 6]
    assert rejected[3]["code"] == "BTH-2"
    assert rejected[3]["errors"][0]["loc"] == ["latitude"]
    assert rejected[4]["errors"][0]["loc"] == ["district"]
    assert rejected[5]["errors"][0]["loc"] == ["kind"]
    assert rejected[6]["errors"][0]["loc"] == ["name"]
    codes = set((await session.execute(select(Camera.code))).scalars())
    assert {"BTH-1", "BTH-6"} <= codes
    assert not codes & {"BTH-2", "BTH-3", "BTH-4", "BTH-5"}


async def test_a_row_refused_by_the_database_is_rejected_alone(registry, admin, session, monkeypatch) -> None:
    # The API checks everything the schema checks, so stage a row that only the database refuses.
    original = service.new_camera_values

    def sabotaged(data, location):
        values = original(data, location)
        if data.code == "BTH-2":
            values["heartbeat_interval_s"] = 1
        return values

    monkeypatch.setattr(service, "new_camera_values", sabotaged)
    body = HEADER + "".join(f"BTH-{i},n,10.79,106.72,BTH,ptz,\n" for i in range(1, 4))
    result = (await post_import(registry, admin, body)).json()
    assert result["created"] == 2
    assert [(x["line"], x["code"]) for x in result["rejected"]] == [(3, "BTH-2")]
    codes = set((await session.execute(select(Camera.code))).scalars())
    assert {"BTH-1", "BTH-3"} <= codes
    assert "BTH-2" not in codes


async def test_rows_outside_the_keys_districts_are_rejected_per_row(registry, make_key, create) -> None:
    await create(code="Q1-9", district="Q1")
    key = bearer(await make_key("field", ["BTH"]))
    body = (
        "code,name,latitude,longitude,district\n"
        "BTH-1,a,10.79,106.72,BTH\nQ1-1,b,10.77,106.69,Q1\nQ1-9,c,10.77,106.69,BTH\n"
    )
    result = (await post_import(registry, key, body)).json()
    assert result["created"] == 1
    assert sorted(x["line"] for x in result["rejected"]) == [3, 4]
    assert all(x["errors"] for x in result["rejected"])


async def test_operators_and_monitors_may_not_import(registry, make_key) -> None:
    for role in ("operator", "monitor"):
        r = await post_import(registry, bearer(await make_key(role)), HEADER)
        assert r.status_code == 403


async def test_duplicate_codes_in_one_file_reject_the_later_row(registry, admin) -> None:
    body = HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\nBTH-1,b,10.79,106.72,BTH,ptz,\n"
    result = (await post_import(registry, admin, body)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 3
    assert "line 2" in result["rejected"][0]["errors"][0]["msg"]


async def test_a_big_file_over_the_default_body_limit_imports_with_progress_logs(registry, admin, caplog) -> None:
    rows = [f"BTH-{i:05d},Camera số {i},10.79,106.72,BTH,ptz,a|b,{i} Điện Biên Phủ {'x' * 200}" for i in range(4500)]
    body = HEADER.strip() + ",address\n" + "\n".join(rows) + "\n"
    assert len(body.encode()) > 1024 * 1024
    with caplog.at_level(logging.INFO, logger="services.registry.importer"):
        r = await post_import(registry, admin, body)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["created"] == 4500
    progress = [rec for rec in caplog.records if rec.getMessage().startswith("import progress")]
    assert [rec.rows for rec in progress] == [1000, 2000, 3000, 4000]  # type: ignore[attr-defined]


async def test_import_with_new_credentials_replaces_them(registry, admin, create, session) -> None:
    await create(code="BTH-1", stream_url="rtsp://admin:old@10.0.0.1/live")
    before = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    result = (await post_import(registry, admin, "code,stream_url\nBTH-1,rtsp://admin:new@10.0.0.1/live\n")).json()
    assert result["updated"] == 1
    after = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    assert after not in (None, before)


async def test_import_decommission_revokes_like_delete(registry, admin, create, session) -> None:
    made = await create(code="BTH-1")
    result = (await post_import(registry, admin, "code,lifecycle\nBTH-1,decommissioned\n")).json()
    assert result["updated"] == 1
    actions = (await session.execute(select(CameraChange.action).where(CameraChange.camera_id == made["id"]))).all()
    assert ("import",) in actions
    r = await registry.post("/v1/cameras/BTH-1/rotate-token", headers=admin)
    assert r.status_code == 409


async def test_committed_imports_are_counted_in_metrics(registry, admin) -> None:
    await post_import(registry, admin, HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\nBTH-2,b,99,106.72,BTH,ptz,\n")
    metrics = (await registry.get("/metrics")).text
    assert 'citycam_registry_import_rows_total{result="created"}' in metrics
    assert 'citycam_registry_import_rows_total{result="rejected"}' in metrics


async def test_a_file_with_only_ward_codes_imports_with_districts_filled_in(registry, admin) -> None:
    body = (
        "code,name,latitude,longitude,ward\n"
        "W-1,a,10.77,106.70,26740\nW-2,b,10.80,106.71,26905\nW-3,c,11.0,106.6,25747\n"
    )
    result = (await post_import(registry, admin, body)).json()
    assert (result["created"], result["rejected"]) == (3, [])
    cameras = (await registry.get("/v1/cameras", params={"q": "W"}, headers=admin)).json()["items"]
    assert {c["code"]: (c["district"], c["ward"]) for c in cameras} == {
        "W-1": ("Q1", "26740"),
        "W-2": ("BTH", "26905"),
        "W-3": ("BDU", "25747"),
    }


async def test_a_row_with_a_new_ward_and_no_district_moves_the_stored_district(registry, admin, create) -> None:
    await create(code="BTH-1", district="Q1", ward="26740")
    result = (await post_import(registry, admin, "code,ward\nBTH-1,26905\n")).json()
    assert result["updated"] == 1
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert (cam["district"], cam["ward"]) == ("BTH", "26905")


async def test_issue_tokens_gives_each_created_camera_a_working_token_once(registry, ingest, admin, create) -> None:
    await create(code="OLD-1")
    body = HEADER + "NEW-1,a,10.79,106.72,BTH,ptz,\nOLD-1,renamed,10.79,106.72,BTH,ptz,\nNEW-2,b,10.79,106.72,BTH,,\n"
    r = await registry.post(
        "/v1/cameras/import?issue_tokens=true", content=body.encode(), headers={**admin, "content-type": "text/csv"}
    )
    result = r.json()
    assert (result["created"], result["updated"]) == (2, 1)
    tokens = result["device_tokens"]
    assert [(t["line"], t["code"]) for t in tokens] == [(2, "NEW-1"), (4, "NEW-2")]
    beat = await ingest.post("/v1/heartbeats", json={"fps": 25}, headers=bearer(tokens[0]["device_token"]))
    assert beat.status_code == 202, beat.text
    # Shown once: the registry keeps only the hash.
    assert tokens[0]["device_token"] not in (await registry.get("/v1/cameras/NEW-1", headers=admin)).text


async def test_a_dry_run_issues_no_tokens(registry, admin) -> None:
    body = HEADER + "NEW-1,a,10.79,106.72,BTH,ptz,\n"
    r = await registry.post(
        "/v1/cameras/import?issue_tokens=true&dry_run=true",
        content=body.encode(),
        headers={**admin, "content-type": "text/csv"},
    )
    assert (r.json()["created"], r.json()["device_tokens"]) == (1, [])


async def test_a_replayed_batch_issues_tokens_only_for_the_rows_that_landed(
    registry, admin, session, monkeypatch
) -> None:
    original = service.new_camera_values

    def sabotaged(data, location):
        values = original(data, location)
        if data.code == "BTH-2":
            values["heartbeat_interval_s"] = 1  # only the database refuses it: the batch is replayed row by row
        return values

    monkeypatch.setattr(service, "new_camera_values", sabotaged)
    body = HEADER + "".join(f"BTH-{i},n,10.79,106.72,BTH,ptz,\n" for i in range(1, 4))
    r = await registry.post(
        "/v1/cameras/import?issue_tokens=true", content=body.encode(), headers={**admin, "content-type": "text/csv"}
    )
    assert [t["code"] for t in r.json()["device_tokens"]] == ["BTH-1", "BTH-3"]
    live = await session.scalar(
        select(func.count()).select_from(DeviceCredential).join(Camera, Camera.id == DeviceCredential.camera_id)
    )
    assert live == 2
