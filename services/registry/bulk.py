"""Bulk import (CSV or JSON lines, upsert by code) and CSV export of cameras.

The body is spooled to a temporary file (memory up to SPOOL_MEMORY_BYTES, disk beyond) while its
UTF-8 is checked, then parsed row by row, so a 10,000-row file never sits in memory as objects.
Rows are written in batches inside a savepoint; when the database refuses a batch, its rows are
replayed one savepoint each, so a rejected row never half-writes and never takes good rows with it.
"""

import codecs
import csv
import io
import json
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry import service
from services.registry.schemas import CAMERA_REQUIRED, CameraCreate, ImportRejected, ImportResult
from shared.auth import Principal
from shared.errors import BadRequest, Problem, UnsupportedMediaType, ValidationFailed, database_problem
from shared.middleware import BadInput, check_json
from shared.models import Area, Camera, CameraChange, Gateway

log = logging.getLogger(__name__)

IMPORT_ROWS = Counter(
    "citycam_registry_import_rows_total",
    "Rows of committed bulk imports by result (created, updated, unchanged, rejected).",
    ["result"],
)

SPOOL_MEMORY_BYTES = 1024 * 1024
BATCH_ROWS = 500
PROGRESS_EVERY = 1000
MAX_JSON_LINE = 64 * 1024
MAX_JSON_DEPTH = 8
CSV_TYPES = ("text/csv", "application/csv")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines")
# Columns an export carries that an import ignores: the database owns them.
READ_ONLY = ("id", "created_at", "updated_at", "version")
EXPORT_COLUMNS = ("id", *service.CAMERA_FIELDS, "created_at", "updated_at", "version")
TAG_SEPARATOR = "|"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection: a camera named
# "=HYPERLINK(...)" would act in the field team's Excel). The export puts an apostrophe, which
# spreadsheets read as "text follows", before such a cell and before one that starts with an apostrophe;
# the import takes exactly that apostrophe off again, so export -> import gives back every value.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass
class Row:
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
    known = set(service.CAMERA_FIELDS) | set(READ_ONLY)
    unknown = [name for name in header if name not in known]
    if unknown:
        raise BadRequest(
            f"unknown column(s) {unknown[:5]}; the columns are {', '.join(EXPORT_COLUMNS)}",
            errors=[{"loc": ["header", name], "msg": "unknown column"} for name in unknown[:20]],
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise BadRequest(f"column(s) {duplicated} appear more than once in the header")
    if "code" not in header:
        raise BadRequest("the header has no code column; rows are matched by code")
    return header


def text_from_sheet(cell: str) -> str:
    """A cell without the apostrophe the export put before a formula-like text (text_to_sheet's inverse)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def text_to_sheet(text: str) -> str:
    """Text a spreadsheet shows as it is instead of running it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(name: str, raw: str) -> Any:
    raw = text_from_sheet(raw)
    if name == "tags":
        return [tag.strip() for tag in raw.split(TAG_SEPARATOR) if tag.strip()]
    return raw if raw.strip() else None


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
        values = {name: _cell(name, cell) for name, cell in zip(header, cells, strict=True) if name not in READ_ONLY}
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
        values = {k: v for k, v in value.items() if k not in READ_ONLY}
        # JSON can say null where CSV can only leave a cell empty: null for a field that cannot be
        # empty is an error (as in a PATCH), not "keep the stored value".
        nulls = sorted(k for k, v in values.items() if v is None and k in CAMERA_REQUIRED)
        yield Row(number, values, [{"loc": [k], "msg": "cannot be null"} for k in nulls])


def camera_input(camera: Camera) -> dict[str, Any]:
    """A stored camera as an import body, so a row only needs the fields it changes."""
    state = service.camera_state(camera)
    state["gateway_id"] = camera.gateway_id
    state["installed_at"] = camera.installed_at
    return state


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    # Never echo the input: a rejected value may be a password.
    return [{"loc": list(err["loc"]), "msg": err["msg"]} for err in exc.errors()]


def _problem_errors(problem: Problem) -> list[dict[str, Any]]:
    return problem.errors or [{"loc": [], "msg": problem.detail}]


@dataclass
class Importer:
    """One import request: the caller, the areas and gateways seen, the counts and the rejects."""

    session: AsyncSession
    principal: Principal
    request_id: str | None
    areas: Mapping[str, Area]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[ImportRejected] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    gateways: dict[uuid.UUID, bool] = field(default_factory=dict)
    # New rows of the current batch, written with one multi-row INSERT each (no ORM bookkeeping).
    new_cameras: list[dict[str, Any]] = field(default_factory=list)
    new_changes: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: Row, errors: list[dict[str, Any]]) -> None:
        code = row.values.get("code")
        self.rejected.append(ImportRejected(line=row.line, code=code if isinstance(code, str) else None, errors=errors))

    async def gateway_ok(self, gateway_id: uuid.UUID) -> bool:
        if gateway_id not in self.gateways:
            gateway = await self.session.get(Gateway, gateway_id)
            self.gateways[gateway_id] = gateway is not None and gateway.lifecycle != "decommissioned"
        return self.gateways[gateway_id]

    async def batch(self, rows: list[Row]) -> None:
        """Write a batch in one savepoint; when the database refuses it, replay row by row."""
        counts = self._counts()
        try:
            async with self.session.begin_nested():
                await self._rows(rows)
                await self._write()
        except DBAPIError:
            self._restore(counts)
            for row in rows:
                counts = self._counts()
                try:
                    async with self.session.begin_nested():
                        await self._rows([row])
                        await self._write()
                except DBAPIError as exc:
                    self._restore(counts)
                    self.reject(row, [{"loc": [], "msg": database_problem(exc).detail}])
        self.session.expunge_all()

    def _counts(self) -> tuple[int, int, int, int]:
        return self.created, self.updated, self.unchanged, len(self.rejected)

    def _restore(self, counts: tuple[int, int, int, int]) -> None:
        self.created, self.updated, self.unchanged = counts[:3]
        del self.rejected[counts[3] :]

    async def _write(self) -> None:
        try:
            await self.session.flush()
            if self.new_cameras:
                await self.session.execute(insert(Camera), self.new_cameras)
                await self.session.execute(insert(CameraChange), self.new_changes)
        finally:
            self.new_cameras, self.new_changes = [], []

    async def _rows(self, rows: list[Row]) -> None:
        codes = [row.values["code"].strip() for row in rows if isinstance(row.values.get("code"), str)]
        found = await self.session.execute(
            select(Camera).where(Camera.code.in_(codes)).with_for_update().execution_options(populate_existing=True)
        )
        existing = {camera.code: camera for camera in found.scalars()}
        for row in rows:
            if row.errors:
                self.reject(row, row.errors)
                continue
            try:
                await self._row(row, existing)
            except Problem as problem:
                self.reject(row, _problem_errors(problem))

    async def _row(self, row: Row, existing: Mapping[str, Camera]) -> None:
        code = row.values.get("code")
        if not isinstance(code, str) or not code.strip():
            raise ValidationFailed("code is required", errors=[{"loc": ["code"], "msg": "a code is required"}])
        code = code.strip()
        first = self.seen.setdefault(code, row.line)
        if first != row.line:
            raise ValidationFailed(
                "duplicate code",
                errors=[{"loc": ["code"], "msg": f"duplicate code in this file (first on line {first})"}],
            )
        # An empty CSV cell for a field that cannot be empty means "keep" (update) or "default" (create).
        given = {k: v for k, v in row.values.items() if not (v is None and k in CAMERA_REQUIRED)}
        camera = existing.get(code)
        merged = {**camera_input(camera), **given} if camera is not None else given
        try:
            data = CameraCreate.model_validate(merged)
        except ValidationError as exc:
            raise ValidationFailed("invalid row", errors=_validation_errors(exc)) from None
        new_gateway = data.gateway_id is not None and (camera is None or camera.gateway_id != data.gateway_id)
        if new_gateway and data.gateway_id is not None and not await self.gateway_ok(data.gateway_id):
            raise ValidationFailed(
                "unknown gateway", errors=[{"loc": ["gateway_id"], "msg": "unknown or decommissioned gateway"}]
            )
        if camera is None:
            await self._create(data)
            return
        # Every field is passed; unchanged ones drop out of the diff (a masked stream URL keeps its credentials).
        fields = {name: getattr(data, name) for name in service.CAMERA_FIELDS}
        changes = await service.apply_camera_update(
            self.session,
            camera=camera,
            fields=fields,
            principal=self.principal,
            request_id=self.request_id,
            action="import",
            unconditional=True,
            areas=self.areas,
        )
        if changes:
            self.updated += 1
        else:
            self.unchanged += 1

    async def _create(self, data: CameraCreate) -> None:
        if not self.principal.can_change_district(data.district):
            raise ValidationFailed(
                "outside the key's districts",
                errors=[{"loc": ["district"], "msg": f"this key may not change devices in district {data.district!r}"}],
            )
        errors = service.location_errors(self.areas, district=data.district, ward=data.ward)
        if errors:
            raise ValidationFailed(str(errors[0]["msg"]), errors=errors)
        values = service.new_camera_values(data)
        self.new_cameras.append(values)
        self.new_changes.append(
            {
                "camera_id": values["id"],
                "action": "import",
                "actor": self.principal.name,
                "api_key_id": self.principal.key_id,
                "request_id": self.request_id,
                "unconditional": False,
                "changes": service.created(service.values_state(values)),
            }
        )
        self.created += 1


async def import_cameras(
    session: AsyncSession,
    *,
    body: IO[bytes],
    fmt: str,
    principal: Principal,
    request_id: str | None,
    dry_run: bool,
) -> ImportResult:
    """Upsert cameras by code from a spooled CSV or JSON-lines body; dry_run rolls everything back."""
    areas = {area.code: area for area in (await session.execute(select(Area))).scalars()}
    importer = Importer(session=session, principal=principal, request_id=request_id, areas=areas)
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    rows = csv_rows(text) if fmt == "csv" else jsonl_rows(text)
    outer = await session.begin_nested()
    total = 0
    batch: list[Row] = []
    try:
        for row in rows:
            batch.append(row)
            total += 1
            if len(batch) >= BATCH_ROWS:
                await importer.batch(batch)
                batch = []
            if total % PROGRESS_EVERY == 0:
                log.info(
                    "import progress: %d rows",
                    total,
                    extra={
                        "rows": total,
                        "rows_created": importer.created,
                        "rows_updated": importer.updated,
                        "rows_rejected": len(importer.rejected),
                        "dry_run": dry_run,
                    },
                )
        if batch:
            await importer.batch(batch)
    except BaseException:
        await outer.rollback()
        raise
    if dry_run:
        await outer.rollback()
    else:
        await outer.commit()
        for result, count in (
            ("created", importer.created),
            ("updated", importer.updated),
            ("unchanged", importer.unchanged),
            ("rejected", len(importer.rejected)),
        ):
            IMPORT_ROWS.labels(result).inc(count)
    log.info(
        "import done: %d rows",
        total,
        extra={
            "rows": total,
            "rows_created": importer.created,
            "rows_updated": importer.updated,
            "rows_unchanged": importer.unchanged,
            "rows_rejected": len(importer.rejected),
            "dry_run": dry_run,
        },
    )
    return ImportResult(
        dry_run=dry_run,
        created=importer.created,
        updated=importer.updated,
        unchanged=importer.unchanged,
        rejected=importer.rejected,
    )


def _export_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "tags":
        return text_to_sheet(TAG_SEPARATOR.join(value))
    if isinstance(value, float):
        return repr(value)
    return text_to_sheet(str(value))


def export_line(camera: Camera) -> list[str]:
    """One camera as an export row (stream credentials masked)."""
    state = service.camera_state(camera)
    state.update(
        id=str(camera.id),
        created_at=service.audit_value(camera.created_at),
        updated_at=service.audit_value(camera.updated_at),
        version=camera.version,
    )
    return [_export_cell(name, state[name]) for name in EXPORT_COLUMNS]


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession], *, filters: service.CameraFilters, page: int = 1000
) -> AsyncIterator[bytes]:
    """The matching cameras as CSV, streamed a keyset page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    after: str | None = None
    while True:
        async with sessionmaker() as session:
            cameras = await service.camera_page(session, filters=filters, limit=page, after=after)
        for camera in cameras:
            writer.writerow(export_line(camera))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if len(cameras) < page:
            return
        after = cameras[-1].code
