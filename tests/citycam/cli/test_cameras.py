"""`citycam cameras import/export` end to end: a real registry server on loopback (tests/citycam/conftest.py),
the command in a worker thread, spreadsheet files in each encoding."""

import csv
import os
import stat

import pytest

from tests.helpers import windows_1258

SHEET = (
    "code,name,latitude,longitude,ward\r\n"
    "S-1,Ngã tư Hàng Xanh,10.80,106.71,26905\r\n"
    "S-2,Cầu Sài Gòn,95,106.72,26905\r\n"
    "S-3,Bến Thành,10.77,106.70,26740\r\n"
)


async def test_a_sheet_imports_with_tokens_and_its_rejects_come_back_to_fix(registry_server, tmp_path) -> None:
    sheet = tmp_path / "field.csv"
    sheet.write_bytes(b"\xef\xbb\xbf" + SHEET.encode())
    result = await registry_server.run("cameras", "import", str(sheet))
    assert result.exit_code == 1, result.output  # a rejected row
    assert "created" in result.output and "rejected" in result.output
    with (tmp_path / "field.tokens.csv").open() as fh:
        tokens = list(csv.DictReader(fh))
    assert [t["code"] for t in tokens] == ["S-1", "S-3"] and all(t["device_token"].startswith("cct_") for t in tokens)
    assert stat.S_IMODE(os.stat(tmp_path / "field.tokens.csv").st_mode) == 0o600
    rejects_path = tmp_path / "field.rejected.csv"
    with rejects_path.open(encoding="utf-8-sig") as fh:
        (rejected,) = list(csv.DictReader(fh))
    assert rejected["code"] == "S-2" and rejected["reason"].startswith("line 3: latitude")
    # The team fixes the row in the rejected-rows file and imports that file.
    rejects_path.write_text(rejects_path.read_text(encoding="utf-8-sig").replace(",95,", ",10.79,"), encoding="utf-8")
    again = await registry_server.run("cameras", "import", str(rejects_path))
    assert again.exit_code == 0, again.output
    assert not (tmp_path / "field.rejected.rejected.csv").exists()


async def test_an_earlier_tokens_file_is_never_overwritten(registry_server, tmp_path) -> None:
    sheet = tmp_path / "again.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    (tmp_path / "again.tokens.csv").write_text("code,id,device_token\n", encoding="utf-8")
    result = await registry_server.run("cameras", "import", str(sheet))
    assert result.exit_code == 2
    assert "exists" in result.output


@pytest.mark.parametrize(
    ("encode", "said"),
    [
        (lambda text: text.replace(",", "\t").encode("utf-16"), "tab-separated"),  # Excel's "Unicode Text"
        (windows_1258, "converted from windows-1258"),  # a Vietnamese Windows Excel's "CSV"
    ],
    ids=["utf-16-tabs", "windows-1258"],
)
async def test_each_spreadsheet_encoding_imports_and_says_what_it_converted(
    registry_server, tmp_path, encode, said
) -> None:
    text = SHEET.replace("S-", f"E{len(said)}-").replace(",95,", ",10.79,")
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(encode(text))
    result = await registry_server.run("cameras", "import", str(sheet), "--no-issue-tokens")
    assert result.exit_code == 0, result.output
    assert said in result.output
    export = tmp_path / "out.csv"
    assert (await registry_server.run("cameras", "export", str(export), "--where", "ward=26905")).exit_code == 0
    with export.open(encoding="utf-8-sig") as fh:
        names = {row["code"]: row["name"] for row in csv.DictReader(fh)}
    assert names[f"E{len(said)}-1"] == "Ngã tư Hàng Xanh"


async def test_a_file_in_no_readable_encoding_is_refused_with_a_reason(registry_server, tmp_path) -> None:
    sheet = tmp_path / "broken.csv"
    sheet.write_bytes(b"code,name\nX-1,\x81\x8d\n")
    result = await registry_server.run("cameras", "import", str(sheet))
    assert result.exit_code == 2
    assert "not valid windows-1258" in result.output and "CSV UTF-8" in result.output


async def test_an_export_imports_back_unchanged(registry_server, tmp_path) -> None:
    export = tmp_path / "all.csv"
    assert (await registry_server.run("cameras", "export", str(export))).exit_code == 0
    assert export.read_bytes().startswith(b"\xef\xbb\xbf")
    result = await registry_server.run("cameras", "import", str(export), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output
