"""An import's body: its media type, spooled while its UTF-8 is checked, then read row by row.

The body is spooled to a temporary file (memory up to SPOOL_MEMORY_BYTES, disk beyond) while its
UTF-8 is checked, then parsed one row at a time, so a 10,000-row file never sits in memory as objects.

Spreadsheets save CSV in other encodings too: a body that starts with a UTF-16 byte-order mark (Excel's
"Unicode Text") is read as UTF-16, and `charset=windows-1258` (a Vietnamese Windows Excel's "CSV") or
`charset=utf-16` in the Content-Type names the encoding; either is converted to UTF-8 (NFC, since
Windows-1258 writes tones as combining marks) while it is spooled. Anything else that is not UTF-8 is
refused with a 400 saying how to send it, never guessed: nearly every byte string is valid Windows-1258.
"""

import codecs
import csv
import json
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from services.registry.csv_format import COLUMNS, cell_value
from services.registry.schemas import CAMERA_REQUIRED, DATABASE_OWNED
from shared.errors import BadRequest, UnsupportedMediaType, ValidationFailed
from shared.middleware import BadInput, check_json

SPOOL_MEMORY_BYTES = 1024 * 1024
MAX_JSON_LINE = 64 * 1024
MAX_JSON_DEPTH = 8
CSV_TYPES = ("text/csv", "application/csv")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines")
# charset parameter -> Python codec; utf-16 without an endianness reads the byte-order mark.
CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "windows-1258": "cp1258",
    "cp1258": "cp1258",
}
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
NOT_UTF8_HINT = (
    "; a spreadsheet's CSV in another encoding needs it named (Content-Type: text/csv; charset=windows-1258"
    " or utf-16), or save it as 'CSV UTF-8'"
)


@dataclass
class Row:
    """One row of the file: the line it starts on, its values by column, and what is already wrong with it."""

    line: int
    values: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)


def body_format(content_type: str | None) -> str:
    """csv or jsonl from the Content-Type; 415 otherwise."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return "csv"
    if media in JSONL_TYPES:
        return "jsonl"
    raise UnsupportedMediaType(
        "send text/csv or JSON lines (application/x-ndjson); one JSON document per line, not a JSON array"
    )


def body_charset(content_type: str | None) -> str | None:
    """The codec the Content-Type's charset parameter names (None without one); 415 for one not read here."""
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
            if charset not in CHARSETS:
                raise UnsupportedMediaType(f"charset {charset[:40]!r} is not read; send utf-8, utf-16 or windows-1258")
            return CHARSETS[charset]
    return None


class _Recoder:
    """A body's bytes, checked as UTF-8 and passed on, or decoded from `codec` and passed on as NFC UTF-8."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.decoder = codecs.getincrementaldecoder(codec)()
        self.size = 0
        self.tail = ""  # decoded text after the last newline: a combining mark may still follow

    def feed(self, chunk: bytes, *, final: bool = False) -> bytes:
        try:
            text = self.decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            where = "it ends inside a character" if final else f"byte {self.size + exc.start}"
            hint = NOT_UTF8_HINT if self.codec == "utf-8" else ""
            raise BadRequest(f"the body is not valid {self.codec.upper()} ({where}){hint}") from None
        except UnicodeError:
            # Python's utf-16 decoder raises a plain UnicodeError on a body without a byte-order mark.
            raise BadRequest(
                "the body is named UTF-16 but has no byte-order mark; name its byte order (charset=utf-16le or"
                " utf-16be) or send the file as Excel saved it"
            ) from None
        self.size += len(chunk)
        if self.codec == "utf-8":
            out = chunk
        else:
            text = self.tail + text
            cut = len(text) if final else text.rfind("\n") + 1
            ready, self.tail = text[:cut], text[cut:]
            out = unicodedata.normalize("NFC", ready).encode()
        if b"\x00" in out:
            raise ValidationFailed("NUL characters are not allowed")
        return out


async def spool(stream: AsyncIterator[bytes], charset: str | None = None) -> IO[bytes]:
    """The request body in a temporary file as UTF-8 without NUL characters (converted from `charset`, or
    from UTF-16 when it starts with a byte-order mark); 400 when it is not valid in its encoding."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - returned to the caller
    recoder: _Recoder | None = None
    head = b""
    try:
        async for chunk in stream:
            if recoder is None:
                # Two bytes decide whether a byte-order mark says UTF-16.
                head += chunk
                if len(head) < 2:
                    continue
                chunk, head = head, b""
                bom = chunk[:2] in UTF16_BOMS
                if bom and charset is not None and not charset.startswith("utf-16"):
                    # Read as named, its NUL bytes would only be refused as NUL characters.
                    raise BadRequest(
                        f"the body starts with a UTF-16 byte-order mark but is named {charset}; send it as utf-16"
                    )
                recoder = _Recoder(charset or ("utf-16" if bom else "utf-8"))
            out.write(recoder.feed(chunk))
        recoder = recoder or _Recoder(charset or "utf-8")
        out.write(recoder.feed(head, final=True))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def _csv_header(raw: list[str]) -> list[str]:
    header = [name.strip().lower() for name in raw]
    if len(header) == 1 and (";" in raw[0] or "\t" in raw[0]):
        sep = "';'" if ";" in raw[0] else "tab"
        raise BadRequest(f"the header looks {sep}-separated; the CSV separator must be a comma (,)")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise BadRequest(
            f"unknown column(s) {unknown[:5]}; the columns are {', '.join(COLUMNS)}",
            errors=[{"loc": ["header", name], "msg": "unknown column"} for name in unknown[:20]],
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise BadRequest(f"column(s) {duplicated} appear more than once in the header")
    if "code" not in header:
        raise BadRequest("the header has no code column; rows are matched by code")
    return header


def csv_rows(text: IO[str]) -> Iterator[Row]:
    """Rows of a CSV file with the line each starts on; quoted newlines stay inside their cell."""
    reader = csv.reader(text, strict=True)
    try:
        raw_header = next(reader)
    except StopIteration:
        raise BadRequest("the file is empty; expected a header line") from None
    except csv.Error as exc:
        raise BadRequest(f"line 1: {exc}") from None
    header = _csv_header(raw_header)
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BadRequest(f"line {line}: the CSV is malformed ({exc}); nothing was imported") from None
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield Row(
                start,
                {},
                [{"loc": ["row"], "msg": f"expected {len(header)} cells (the header's), got {len(cells)}"}],
            )
            continue
        values = {
            name: cell_value(name, cell) for name, cell in zip(header, cells, strict=True) if name not in DATABASE_OWNED
        }
        yield Row(start, values)


def jsonl_rows(text: IO[str]) -> Iterator[Row]:
    """Rows of a JSON-lines file: one object per line."""
    for number, raw in enumerate(text, start=1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > MAX_JSON_LINE:
            yield Row(number, {}, [{"loc": ["row"], "msg": f"the line is longer than {MAX_JSON_LINE} characters"}])
            continue
        try:
            check_json(line.encode(), MAX_JSON_DEPTH)
            value = json.loads(line)
        except BadInput as exc:
            yield Row(number, {}, [{"loc": ["row"], "msg": exc.detail}])
            continue
        if not isinstance(value, dict):
            yield Row(number, {}, [{"loc": ["row"], "msg": "each line must be one JSON object"}])
            continue
        values = {k: v for k, v in value.items() if k not in DATABASE_OWNED}
        # JSON can say null where CSV can only leave a cell empty: null for a field that cannot be
        # empty is an error (as in a PATCH), not "keep the stored value".
        nulls = sorted(k for k, v in values.items() if v is None and k in CAMERA_REQUIRED)
        yield Row(number, values, [{"loc": [k], "msg": "cannot be null"} for k in nulls])
