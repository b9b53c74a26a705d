"""Spreadsheet files (sheets.py): each encoding found and converted, separators, the rejected-rows column."""

import codecs

import pytest

from citycam.cli.sheets import SheetError, chunk_body, decode, read_sheet
from tests.helpers import windows_1258

TEXT = "code,name\r\nX-1,Ngã tư Điện Biên Phủ\r\n"


@pytest.mark.parametrize(
    ("raw", "note"),
    [
        (TEXT.encode(), None),
        (codecs.BOM_UTF8 + TEXT.encode(), None),
        (TEXT.encode("utf-16"), "converted from utf-16"),
        (windows_1258(TEXT), "converted from windows-1258"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "windows-1258"],
)
def test_each_encoding_is_found_and_read_as_nfc(raw, note) -> None:
    assert decode(raw) == (TEXT, note)


def test_bytes_windows_1258_does_not_have_are_refused_with_what_to_do() -> None:
    with pytest.raises(SheetError, match="CSV UTF-8"):
        decode(b"code,name\nX-1,\x81\x8a\n")


def test_a_tab_separated_sheet_is_sent_with_commas() -> None:
    sheet = read_sheet(TEXT.replace(",", "\t").encode("utf-16"))
    assert (sheet.header, sheet.rows) == (["code", "name"], [["X-1", "Ngã tư Điện Biên Phủ"]])
    assert "tab-separated: sent with commas" in sheet.notes


def test_the_reason_column_of_a_rejected_rows_file_is_left_out() -> None:
    sheet = read_sheet(b"code,name,reason\nX-1,a,line 2: bad\n")
    assert (sheet.header, sheet.rows) == (["code", "name"], [["X-1", "a"]])


def test_rows_keep_their_first_line_and_a_chunk_knows_where_each_starts() -> None:
    sheet = read_sheet(b'code,name\nX-1,"two\nlines"\n\nX-2,b\n')
    assert sheet.lines == [2, 5]
    body, starts = chunk_body(sheet.header, sheet.rows)
    assert starts == [2, 4]
    assert body.decode().splitlines()[3] == "X-2,b"
