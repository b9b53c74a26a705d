"""POST /v1/cameras/import (CSV, JSON lines) and GET /v1/cameras/export."""

import csv
import io
import json
import logging

from sqlalchemy import select

from services.registry import service
from shared.models import Camera, CameraChange
from tests.helpers import bearer

HEADER = "code,name,latitude,longitude,district,kind,tags\n"
CSV = {"content-type": "text/csv"}
JSONL = {"content-type": "application/x-ndjson"}


async def _import(registry, headers, body: str | bytes, *, kind=CSV, dry_run: bool = False):
    url = "/v1/cameras/import" + ("?dry_run=true" if dry_run else "")
    data = body.encode() if isinstance(body, str) else body
    return await registry.post(url, content=data, headers={**headers, **kind})


async def test_csv_rows_are_created(registry, admin) -> None:
    body = HEADER + "BTH-1,Cầu Sài Gòn,10.79,106.72,BTH,ptz,bridge|traffic\nQ1-1,Bến Thành,10.77,106.69,Q1,,\n"
    r = await _import(registry, admin, body)
    assert r.status_code == 200, r.text
    assert r.json() == {"dry_run": False, "created": 2, "updated": 0, "unchanged": 0, "rejected": []}
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert cam["tags"] == ["bridge", "traffic"]
    assert (await registry.get("/v1/cameras/Q1-1", headers=admin)).json()["kind"] == "fixed"


async def test_existing_codes_are_updated_and_audited(registry, admin, create) -> None:
    await create(code="BTH-1", name="old name")
    r = await _import(registry, admin, "code,name\nBTH-1,new name\n")
    assert r.json()["updated"] == 1
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert cam["name"] == "new name"
    assert cam["road"] == "Xa lộ Hà Nội"  # a column the file does not have is kept
    change = (await registry.get("/v1/cameras/BTH-1/changes", headers=admin)).json()["items"][0]
    assert change["action"] == "import"
    assert change["changes"] == {"name": {"from": "old name", "to": "new name"}}


async def test_dry_run_reports_but_writes_nothing(registry, admin, session) -> None:
    body = HEADER + "BTH-1,A,10.79,106.72,BTH,ptz,\nBTH-2,B,99,106.72,BTH,ptz,\n"
    r = await _import(registry, admin, body, dry_run=True)
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
    r = await _import(registry, admin, body)
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

    def sabotaged(data):
        values = original(data)
        if data.code == "BTH-2":
            values["heartbeat_interval_s"] = 1
        return values

    monkeypatch.setattr(service, "new_camera_values", sabotaged)
    body = HEADER + "".join(f"BTH-{i},n,10.79,106.72,BTH,ptz,\n" for i in range(1, 4))
    result = (await _import(registry, admin, body)).json()
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
    result = (await _import(registry, key, body)).json()
    assert result["created"] == 1
    assert sorted(x["line"] for x in result["rejected"]) == [3, 4]
    assert all(x["errors"] for x in result["rejected"])


async def test_operators_and_monitors_may_not_import(registry, make_key) -> None:
    for role in ("operator", "monitor"):
        r = await _import(registry, bearer(await make_key(role)), HEADER)
        assert r.status_code == 403


async def test_a_bom_is_ignored(registry, admin) -> None:
    body = "\ufeff" + HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\n"
    assert (await _import(registry, admin, body)).json()["created"] == 1


async def test_semicolon_separated_files_are_refused_clearly(registry, admin) -> None:
    body = "code;name;latitude;longitude;district\nBTH-1;a;10.79;106.72;BTH\n"
    r = await _import(registry, admin, body)
    assert r.status_code == 400
    assert "separator must be a comma" in r.json()["detail"]


async def test_quoted_newlines_stay_in_their_cell_and_lines_stay_right(registry, admin) -> None:
    body = (
        "code,name,latitude,longitude,district,address\n"
        'BTH-1,a,10.79,106.72,BTH,"12 Điện Biên Phủ\nPhường 15"\n'
        "BTH-2,b,99,106.72,BTH,x\n"
    )
    result = (await _import(registry, admin, body)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 4
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert cam["address"] == "12 Điện Biên Phủ\nPhường 15"


async def test_duplicate_codes_in_one_file_reject_the_later_row(registry, admin) -> None:
    body = HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\nBTH-1,b,10.79,106.72,BTH,ptz,\n"
    result = (await _import(registry, admin, body)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 3
    assert "line 2" in result["rejected"][0]["errors"][0]["msg"]


async def test_wrong_cell_count_is_a_row_reject(registry, admin) -> None:
    result = (await _import(registry, admin, HEADER + "BTH-1,a,10.79\n")).json()
    assert result["rejected"][0]["line"] == 2


async def test_unknown_column_is_400(registry, admin) -> None:
    r = await _import(registry, admin, "code,name,colour\nBTH-1,a,red\n")
    assert r.status_code == 400
    assert "colour" in r.json()["detail"]


async def test_header_without_code_is_400(registry, admin) -> None:
    assert (await _import(registry, admin, "name\na\n")).status_code == 400


async def test_empty_file_is_400(registry, admin) -> None:
    assert (await _import(registry, admin, "")).status_code == 400


async def test_invalid_utf8_is_400(registry, admin) -> None:
    assert (await _import(registry, admin, HEADER.encode() + b"BTH-1,\xff\xfe,1,1,BTH,ptz,\n")).status_code == 400


async def test_nul_is_422(registry, admin) -> None:
    assert (await _import(registry, admin, HEADER + "BTH-1,a\x00b,10.79,106.72,BTH,ptz,\n")).status_code == 422


async def test_unterminated_quote_is_400_and_writes_nothing(registry, admin, session) -> None:
    body = HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\n" + 'BTH-2,"open,10.79,106.72,BTH,ptz,\n'
    r = await _import(registry, admin, body)
    assert r.status_code == 400
    assert await session.scalar(select(Camera.id).where(Camera.code == "BTH-1")) is None


async def test_other_media_types_are_415(registry, admin) -> None:
    for media in ("application/json", "text/plain", "application/xml"):
        r = await _import(registry, admin, "[]", kind={"content-type": media})
        assert r.status_code == 415


async def test_json_lines_create_and_reject_per_line(registry, admin) -> None:
    lines = [
        json.dumps({"code": "BTH-1", "name": "Cầu", "latitude": 10.79, "longitude": 106.72, "district": "BTH"}),
        "",
        "not json",
        "[1, 2]",
        '{"code": "BTH-2", "name": "x", "latitude": NaN, "longitude": 106.7, "district": "BTH"}',
        json.dumps({"code": "BTH-3", "name": "x", "latitude": 10.7, "longitude": 106.7, "district": "BTH", "x": 1}),
        json.dumps({"code": "BTH-4", "name": "y", "latitude": "10.7", "longitude": 106.7, "district": "BTH"}),
    ]
    result = (await _import(registry, admin, "\n".join(lines) + "\n", kind=JSONL)).json()
    assert result["created"] == 2
    assert [x["line"] for x in result["rejected"]] == [3, 4, 5, 6]


async def test_a_big_file_over_the_default_body_limit_imports_with_progress_logs(registry, admin, caplog) -> None:
    rows = [f"BTH-{i:05d},Camera số {i},10.79,106.72,BTH,ptz,a|b,{i} Điện Biên Phủ {'x' * 200}" for i in range(4500)]
    body = HEADER.strip() + ",address\n" + "\n".join(rows) + "\n"
    assert len(body.encode()) > 1024 * 1024
    with caplog.at_level(logging.INFO, logger="services.registry.bulk"):
        r = await _import(registry, admin, body)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["created"] == 4500
    progress = [rec for rec in caplog.records if rec.getMessage().startswith("import progress")]
    assert [rec.rows for rec in progress] == [1000, 2000, 3000, 4000]  # type: ignore[attr-defined]


async def test_export_then_import_of_the_same_file_changes_nothing(registry, admin, create, session) -> None:
    await create(code="BTH-1", stream_url="rtsp://admin:pw@10.0.0.1/live", address='Số 1, "Cầu"\nPhường 2')
    await create(code="BTH-2", tags=[], ip="10.0.0.2", installed_at="2024-03-01T08:00:00+07:00")
    before = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    exported = await registry.get("/v1/cameras/export", headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    result = (await _import(registry, admin, exported.content)).json()
    assert result == {"dry_run": False, "created": 0, "updated": 0, "unchanged": 2, "rejected": []}
    after = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    assert after == before is not None


FORMULA_NAME = '=HYPERLINK("http://evil.example/x","Cầu")'


async def _exported_rows(registry, admin) -> list[dict[str, str]]:
    text = (await registry.get("/v1/cameras/export", headers=admin)).text
    return list(csv.DictReader(io.StringIO(text)))


async def test_export_defuses_text_a_spreadsheet_would_run_as_a_formula(registry, admin, create) -> None:
    await create(code="BTH-1", name=FORMULA_NAME, owner="@ops", tags=["-x"])
    row = (await _exported_rows(registry, admin))[0]
    assert (row["name"], row["owner"], row["tags"]) == ("'" + FORMULA_NAME, "'@ops", "'-x")


async def test_export_leaves_ordinary_text_and_numbers_alone(registry, admin, create) -> None:
    await create(code="BTH-1", name="Cầu Sài Gòn", latitude=10.79)
    row = (await _exported_rows(registry, admin))[0]
    assert (row["code"], row["name"], row["latitude"]) == ("BTH-1", "Cầu Sài Gòn", "10.79")


async def test_defused_text_survives_export_then_import(registry, admin, create) -> None:
    await create(code="BTH-1", name=FORMULA_NAME, owner="'quoted'", address="+84 28 3822 1234", tags=["=a", "b"])
    exported = await registry.get("/v1/cameras/export", headers=admin)
    result = (await _import(registry, admin, exported.content)).json()
    assert (result["unchanged"], result["rejected"]) == (1, [])
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert (cam["name"], cam["owner"], cam["address"], cam["tags"]) == (
        FORMULA_NAME,
        "'quoted'",
        "+84 28 3822 1234",
        ["=a", "b"],
    )


async def test_import_drops_only_an_apostrophe_that_defuses_a_formula(registry, admin, create) -> None:
    await create(code="BTH-1")
    await create(code="BTH-2")
    await _import(registry, admin, "code,name\nBTH-1,'=1+1\nBTH-2,'Cầu\n")
    names = [(await registry.get(f"/v1/cameras/{c}", headers=admin)).json()["name"] for c in ("BTH-1", "BTH-2")]
    assert names == ["=1+1", "'Cầu"]


async def test_export_applies_the_list_filters(registry, admin, create) -> None:
    await create(code="BTH-1")
    await create(code="Q1-1", district="Q1")
    text = (await registry.get("/v1/cameras/export?district=Q1", headers=admin)).text
    lines = text.strip().split("\n")
    assert len(lines) == 2
    assert lines[1].split(",")[1] == "Q1-1"


async def test_export_needs_a_reader_key(registry, make_key) -> None:
    assert (await registry.get("/v1/cameras/export")).status_code == 401
    r = await registry.get("/v1/cameras/export", headers=bearer(await make_key("monitor")))
    assert r.status_code == 403


async def test_import_with_new_credentials_replaces_them(registry, admin, create, session) -> None:
    await create(code="BTH-1", stream_url="rtsp://admin:old@10.0.0.1/live")
    before = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    result = (await _import(registry, admin, "code,stream_url\nBTH-1,rtsp://admin:new@10.0.0.1/live\n")).json()
    assert result["updated"] == 1
    after = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    assert after not in (None, before)


async def test_import_decommission_revokes_like_delete(registry, admin, create, session) -> None:
    made = await create(code="BTH-1")
    result = (await _import(registry, admin, "code,lifecycle\nBTH-1,decommissioned\n")).json()
    assert result["updated"] == 1
    actions = (await session.execute(select(CameraChange.action).where(CameraChange.camera_id == made["id"]))).all()
    assert ("import",) in actions
    r = await registry.post("/v1/cameras/BTH-1/rotate-token", headers=admin)
    assert r.status_code == 409


async def test_committed_imports_are_counted_in_metrics(registry, admin) -> None:
    await _import(registry, admin, HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\nBTH-2,b,99,106.72,BTH,ptz,\n")
    metrics = (await registry.get("/metrics")).text
    assert 'citycam_registry_import_rows_total{result="created"}' in metrics
    assert 'citycam_registry_import_rows_total{result="rejected"}' in metrics


async def test_crlf_line_endings_keep_line_numbers(registry, admin) -> None:
    body = (HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\nBTH-2,b,99,106.72,BTH,ptz,\n").replace("\n", "\r\n")
    result = (await _import(registry, admin, body)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 3


async def test_deeply_nested_json_line_is_rejected_alone(registry, admin) -> None:
    good = json.dumps({"code": "BTH-1", "name": "a", "latitude": 10.79, "longitude": 106.72, "district": "BTH"})
    deep = '{"code": "BTH-2", "tags": ' + "[" * 50 + "]" * 50 + "}"
    result = (await _import(registry, admin, f"{deep}\n{good}\n", kind=JSONL)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 1


async def test_jsonl_explicit_null_on_a_required_field_rejects_the_row(registry, admin, create) -> None:
    await create(code="BTH-1", name="stored", district="BTH")
    lines = [
        {"code": "BTH-1", "name": None},
        {"code": "BTH-1X", "name": "new", "latitude": None, "longitude": 106.7, "district": "BTH"},
        {"code": "BTH-1", "district": None, "kind": None},
        {"code": "BTH-2", "name": "fine", "latitude": 10.8, "longitude": 106.7, "district": "BTH", "road": None},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\n"
    r = await _import(registry, admin, body, kind=JSONL)
    result = r.json()
    assert result["created"] == 1
    rejected = {x["line"]: x for x in result["rejected"]}
    assert sorted(rejected) == [1, 2, 3]
    assert rejected[1]["code"] == "BTH-1"
    assert rejected[1]["errors"] == [{"loc": ["name"], "msg": "cannot be null"}]
    assert rejected[2]["errors"][0]["loc"] == ["latitude"]
    assert {tuple(e["loc"]) for e in rejected[3]["errors"]} == {("district",), ("kind",)}
    assert (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()["name"] == "stored"
