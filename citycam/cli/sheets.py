"""Spreadsheet files as a field team's Excel saves them: the encoding found (and said), the separator made a
comma, the rows with the line each starts on, and the rejected rows written back for fixing.

Detection lives here, before upload, because only the file's owner can be asked: a byte-order mark says
UTF-8 or UTF-16 (Excel's "CSV UTF-8" and "Unicode Text"); text that is valid UTF-8 is UTF-8; anything
else is read as Windows-1258 (a Vietnamese Windows Excel's "CSV") and the command says so and shows a
sample, since nearly any bytes decode as that. What is uploaded is always UTF-8, NFC, comma-separated;
the API reads a named charset too (`import_rows.py`), for callers other than this command.
"""

import codecs
import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENCODINGS = ("auto", "utf-8", "utf-16", "windows-1258")
# The column the rejected-rows file adds: dropped again when that file is imported after fixing.
REASON = "reason"


class SheetError(ValueError):
    """The file cannot be read as a spreadsheet's CSV; the message says why and what to do."""


@dataclass
class Sheet:
    """A CSV file read: its header, its rows with their first lines, and what was converted on the way."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    notes: list[str] = field(default_factory=list)


def decode(raw: bytes, encoding: str = "auto") -> tuple[str, str | None]:
    """The file's text (NFC) and a note on a conversion made, if any."""
    if encoding == "auto":
        if raw.startswith(codecs.BOM_UTF8):
            return unicodedata.normalize("NFC", raw[3:].decode("utf-8", errors="strict")), None
        if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            encoding = "utf-16"
        else:
            try:
                return unicodedata.normalize("NFC", raw.decode("utf-8")), None
            except UnicodeDecodeError:
                encoding = "windows-1258"
    codec = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "windows-1258": "cp1258"}[encoding]
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise SheetError(
            f"the file is not valid {encoding} (byte {exc.start}); save it from the spreadsheet as 'CSV UTF-8'"
            " or pass --encoding"
        ) from None
    if "\x00" in text:
        raise SheetError(f"the file read as {encoding} holds NUL characters; save it as 'CSV UTF-8'")
    note = None if encoding == "utf-8" else f"converted from {encoding}"
    return unicodedata.normalize("NFC", text), note


def read_sheet(raw: bytes, encoding: str = "auto") -> Sheet:
    """A spreadsheet's CSV (any of ENCODINGS; comma, semicolon or tab separated) as rows."""
    text, note = decode(raw, encoding)
    first = text.split("\n", 1)[0]
    separator = ","
    if "," not in first:
        separator = "\t" if "\t" in first else ";" if ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise SheetError("the file is empty; expected a header line") from None
    except csv.Error as exc:
        raise SheetError(f"line 1: {exc}") from None
    sheet = Sheet(header=header, rows=[], lines=[])
    if note:
        sheet.notes.append(note)
    if separator != ",":
        sheet.notes.append(f"{'tab' if separator == chr(9) else 'semicolon'}-separated: sent with commas")
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SheetError(f"line {line}: the CSV is malformed ({exc})") from None
        start, line = line, reader.line_num + 1
        if any(cell.strip() for cell in cells):
            sheet.rows.append(cells)
            sheet.lines.append(start)
    if REASON in (h.strip().lower() for h in sheet.header):
        keep = [i for i, h in enumerate(sheet.header) if h.strip().lower() != REASON]
        sheet.header = [sheet.header[i] for i in keep]
        sheet.rows = [[row[i] for i in keep if i < len(row)] for row in sheet.rows]
        sheet.notes.append(f"the {REASON!r} column of a rejected-rows file was left out")
    return sheet


def sample_text(sheet: Sheet) -> str:
    """A short stretch of the file's text to show after a conversion (the first row's longest cell)."""
    cells = sheet.rows[0] if sheet.rows else sheet.header
    return max(cells, key=len)[:60] if cells else ""


def chunk_body(header: Sequence[str], rows: Sequence[list[str]]) -> tuple[bytes, list[int]]:
    """Header and rows as one UTF-8 CSV upload, and the line each row starts on in it."""
    parts: list[str] = []
    starts: list[int] = []
    line = 1
    for number, row in enumerate([list(header), *rows]):
        one = io.StringIO()
        csv.writer(one, lineterminator="\n").writerow(row)
        if number:
            starts.append(line)
        parts.append(one.getvalue())
        line += parts[-1].count("\n")  # a quoted cell may hold line breaks
    return "".join(parts).encode(), starts


def write_rejects(path: Path, header: Sequence[str], rejects: Sequence[tuple[list[str], str]]) -> None:
    """The rejected rows as they were, with a reason column, in UTF-8 with a BOM so Excel shows the accents."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([*header, REASON])
        for cells, reason in rejects:
            writer.writerow([*cells, reason])
