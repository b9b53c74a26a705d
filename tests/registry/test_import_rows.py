"""An import's body (import_rows.py): media type, encodings, CSV and JSON-lines rows and their line numbers."""

import codecs
import json
import unicodedata

import pytest
from sqlalchemy import select

from services.registry.import_rows import spool
from shared.models import Camera
from tests.helpers import windows_1258
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


# A sheet as a field team's Excel saves it: CRLF line ends, Vietnamese text, a ward code and no district.
SHEET = "code,name,latitude,longitude,ward\r\nX-1,Ngã tư Hàng Xanh - Điện Biên Phủ,10.80,106.71,26905\r\n"
NAME = "Ngã tư Hàng Xanh - Điện Biên Phủ"


async def _imported_name(registry, admin, body: bytes, content_type: str) -> str:
    r = await registry.post("/v1/cameras/import", content=body, headers={**admin, "content-type": content_type})
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["rejected"]) == (1, [])
    camera = (await registry.get("/v1/cameras/X-1", headers=admin)).json()
    assert camera["district"] == "BTH"
    return str(camera["name"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (codecs.BOM_UTF8 + SHEET.encode(), "text/csv"),
        (SHEET.encode("utf-16"), "text/csv"),  # with its byte-order mark: read without being named
        (SHEET.encode("utf-16-le"), "text/csv; charset=utf-16le"),
        (windows_1258(SHEET), "text/csv; charset=windows-1258"),
    ],
    ids=["utf-8-bom-crlf", "utf-16-bom", "utf-16le-named", "windows-1258-named"],
)
async def test_a_spreadsheet_csv_in_each_encoding_imports_as_nfc_text(registry, admin, body, content_type) -> None:
    name = await _imported_name(registry, admin, body, content_type)
    assert name == NAME and unicodedata.is_normalized("NFC", name)


async def test_windows_1258_not_named_is_refused_saying_how_to_send_it(registry, admin) -> None:
    r = await post_import(registry, admin, windows_1258(SHEET))
    assert r.status_code == 400
    assert "charset=windows-1258" in r.json()["detail"]


async def test_excel_unicode_text_is_refused_as_tab_separated(registry, admin) -> None:
    r = await post_import(registry, admin, SHEET.replace(",", "\t").encode("utf-16"))
    assert r.status_code == 400
    assert "tab-separated" in r.json()["detail"]


async def test_utf_16_named_without_a_byte_order_mark_is_a_400_saying_what_to_name(registry, admin) -> None:
    # A UTF-8 file sent as charset=utf-16 was a 500 (the utf-16 decoder's plain UnicodeError).
    for body in (codecs.BOM_UTF8 + SHEET.encode(), SHEET.encode("utf-16-le")):
        r = await post_import(registry, admin, body, kind={"content-type": "text/csv; charset=utf-16"})
        assert r.status_code == 400
        assert "utf-16le" in r.json()["detail"]


async def test_utf_16_named_windows_1258_is_a_400_saying_it_is_utf_16(registry, admin) -> None:
    r = await post_import(
        registry, admin, SHEET.encode("utf-16"), kind={"content-type": "text/csv; charset=windows-1258"}
    )
    assert r.status_code == 400
    assert "UTF-16 byte-order mark" in r.json()["detail"]


async def test_an_unknown_charset_is_415(registry, admin) -> None:
    r = await post_import(registry, admin, SHEET.encode(), kind={"content-type": "text/csv; charset=koi8-r"})
    assert r.status_code == 415


async def test_a_combining_mark_split_across_chunks_still_composes() -> None:
    async def chunks():
        encoded = windows_1258("code,name\r\nX-1,Ngã\r\n")
        for i in range(len(encoded)):
            yield encoded[i : i + 1]

    with await spool(chunks(), "cp1258") as body:
        assert body.read().decode() == "code,name\r\nX-1,Ngã\r\n"
