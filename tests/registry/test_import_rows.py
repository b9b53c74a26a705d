"""An import's body (import_rows.py): media type, UTF-8, CSV and JSON-lines rows and their line numbers."""

import json

from sqlalchemy import select

from shared.models import Camera
from tests.registry.files import HEADER, JSONL, post_import


async def test_a_bom_is_ignored(registry, admin) -> None:
    body = "\ufeff" + HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\n"
    assert (await post_import(registry, admin, body)).json()["created"] == 1


async def test_semicolon_separated_files_are_refused_clearly(registry, admin) -> None:
    body = "code;name;latitude;longitude;district\nBTH-1;a;10.79;106.72;BTH\n"
    r = await post_import(registry, admin, body)
    assert r.status_code == 400
    assert "separator must be a comma" in r.json()["detail"]


async def test_quoted_newlines_stay_in_their_cell_and_lines_stay_right(registry, admin) -> None:
    body = (
        "code,name,latitude,longitude,district,address\n"
        'BTH-1,a,10.79,106.72,BTH,"12 Điện Biên Phủ\nPhường 15"\n'
        "BTH-2,b,99,106.72,BTH,x\n"
    )
    result = (await post_import(registry, admin, body)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 4
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert cam["address"] == "12 Điện Biên Phủ\nPhường 15"


async def test_wrong_cell_count_is_a_row_reject(registry, admin) -> None:
    result = (await post_import(registry, admin, HEADER + "BTH-1,a,10.79\n")).json()
    assert result["rejected"][0]["line"] == 2


async def test_unknown_column_is_400(registry, admin) -> None:
    r = await post_import(registry, admin, "code,name,colour\nBTH-1,a,red\n")
    assert r.status_code == 400
    assert "colour" in r.json()["detail"]


async def test_header_without_code_is_400(registry, admin) -> None:
    assert (await post_import(registry, admin, "name\na\n")).status_code == 400


async def test_empty_file_is_400(registry, admin) -> None:
    assert (await post_import(registry, admin, "")).status_code == 400


async def test_invalid_utf8_is_400(registry, admin) -> None:
    assert (await post_import(registry, admin, HEADER.encode() + b"BTH-1,\xff\xfe,1,1,BTH,ptz,\n")).status_code == 400


async def test_nul_is_422(registry, admin) -> None:
    assert (await post_import(registry, admin, HEADER + "BTH-1,a\x00b,10.79,106.72,BTH,ptz,\n")).status_code == 422


async def test_unterminated_quote_is_400_and_writes_nothing(registry, admin, session) -> None:
    body = HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\n" + 'BTH-2,"open,10.79,106.72,BTH,ptz,\n'
    r = await post_import(registry, admin, body)
    assert r.status_code == 400
    assert await session.scalar(select(Camera.id).where(Camera.code == "BTH-1")) is None


async def test_other_media_types_are_415(registry, admin) -> None:
    for media in ("application/json", "text/plain", "application/xml"):
        r = await post_import(registry, admin, "[]", kind={"content-type": media})
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
    result = (await post_import(registry, admin, "\n".join(lines) + "\n", kind=JSONL)).json()
    assert result["created"] == 2
    assert [x["line"] for x in result["rejected"]] == [3, 4, 5, 6]


async def test_crlf_line_endings_keep_line_numbers(registry, admin) -> None:
    body = (HEADER + "BTH-1,a,10.79,106.72,BTH,ptz,\nBTH-2,b,99,106.72,BTH,ptz,\n").replace("\n", "\r\n")
    result = (await post_import(registry, admin, body)).json()
    assert result["created"] == 1
    assert result["rejected"][0]["line"] == 3


async def test_deeply_nested_json_line_is_rejected_alone(registry, admin) -> None:
    good = json.dumps({"code": "BTH-1", "name": "a", "latitude": 10.79, "longitude": 106.72, "district": "BTH"})
    deep = '{"code": "BTH-2", "tags": ' + "[" * 50 + "]" * 50 + "}"
    result = (await post_import(registry, admin, f"{deep}\n{good}\n", kind=JSONL)).json()
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
    r = await post_import(registry, admin, body, kind=JSONL)
    result = r.json()
    assert result["created"] == 1
    rejected = {x["line"]: x for x in result["rejected"]}
    assert sorted(rejected) == [1, 2, 3]
    assert rejected[1]["code"] == "BTH-1"
    assert rejected[1]["errors"] == [{"loc": ["name"], "msg": "cannot be null"}]
    assert rejected[2]["errors"][0]["loc"] == ["latitude"]
    assert {tuple(e["loc"]) for e in rejected[3]["errors"]} == {("district",), ("kind",)}
    assert (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()["name"] == "stored"
