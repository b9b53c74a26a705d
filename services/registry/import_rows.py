"""An import's body: its media type, spooled while its UTF-8 is checked, then read row by row.

The body is spooled to a temporary file (memory up to SPOOL_MEMORY_BYTES, disk beyond) while its
UTF-8 is checked, then parsed one row at a time, so a 10,000-row file never sits in memory as objects.
"""

import codecs
import csv
import json
import tempfile
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


async def spool(stream: AsyncIterator[bytes]) -> IO[bytes]:
    """The request body in a temporary file, refused unless it is UTF-8 without NUL characters."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - returned to the caller
    size = 0
    try:
        async for chunk in stream:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise BadRequest(f"the body is not valid UTF-8 (byte {size + exc.start})") from None
            if b"\x00" in chunk:
                raise ValidationFailed("NUL characters are not allowed")
            out.write(chunk)
            size += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise BadRequest("the body is not valid UTF-8 (it ends inside a character)") from None
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
