"""Bulk import of cameras (CSV or JSON lines, upsert by code).

Rows (import_rows.py) are written in batches inside a savepoint; when the database refuses a batch, its
rows are replayed one savepoint each, so a rejected row never half-writes and never takes good rows
with it. New cameras of a batch are written with one multi-row INSERT; existing ones go through the
same update path as a PATCH (service.apply_camera_update).
"""

import io
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import service
from services.registry.areas import AreaIndex, full_area_index, resolve_location
from services.registry.audit import change_row, created
from services.registry.import_rows import Row, csv_rows, jsonl_rows
from services.registry.schemas import (
    CAMERA_FIELDS,
    CAMERA_REQUIRED,
    CameraCreate,
    ImportFlagged,
    ImportRejected,
    ImportResult,
    ImportToken,
    LocationWarning,
)
from shared.auth import Principal
from shared.errors import Problem, ValidationFailed, database_problem
from shared.models import Camera, CameraChange, DeviceCredential, Gateway
from shared.tokens import issue_device_token

log = logging.getLogger(__name__)

IMPORT_ROWS = Counter(
    "citycam_registry_import_rows_total",
    "Rows of committed bulk imports by result (created, updated, unchanged, rejected).",
    ["result"],
)

BATCH_ROWS = 500
PROGRESS_EVERY = 1000


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
    """One import request: the caller, the areas and gateways seen, the counts, rejects, warnings and tokens."""

    session: AsyncSession
    principal: Principal
    request_id: str | None
    index: AreaIndex
    issue_tokens: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[ImportRejected] = field(default_factory=list)
    flagged: list[ImportFlagged] = field(default_factory=list)
    tokens: list[ImportToken] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    gateways: dict[uuid.UUID, bool] = field(default_factory=dict)
    # New rows of the current batch, written with one multi-row INSERT each (no ORM bookkeeping).
    new_cameras: list[dict[str, Any]] = field(default_factory=list)
    new_changes: list[dict[str, Any]] = field(default_factory=list)
    new_credentials: list[dict[str, Any]] = field(default_factory=list)

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

    def flag(self, row: Row, code: str, warnings: list[LocationWarning]) -> None:
        if warnings:
            self.flagged.append(ImportFlagged(line=row.line, code=code, warnings=warnings))

    def _counts(self) -> tuple[int, ...]:
        return self.created, self.updated, self.unchanged, len(self.rejected), len(self.flagged), len(self.tokens)

    def _restore(self, counts: tuple[int, ...]) -> None:
        self.created, self.updated, self.unchanged = counts[:3]
        del self.rejected[counts[3] :]
        del self.flagged[counts[4] :]
        del self.tokens[counts[5] :]

    async def _write(self) -> None:
        try:
            await self.session.flush()
            if self.new_cameras:
                await self.session.execute(insert(Camera), self.new_cameras)
                await self.session.execute(insert(CameraChange), self.new_changes)
            if self.new_credentials:
                await self.session.execute(insert(DeviceCredential), self.new_credentials)
        finally:
            self.new_cameras, self.new_changes, self.new_credentials = [], [], []

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
        if given.get("ward") is not None and "district" not in given:
            # A row with a ward and no district: the ward's legacy district, not the stored one.
            merged.pop("district", None)
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
            await self._create(row, data)
            return
        # Every field is passed; unchanged ones drop out of the diff (a masked stream URL keeps its credentials).
        # A district left out follows from the ward.
        fields = {name: getattr(data, name) for name in CAMERA_FIELDS if name != "district" or data.district}
        changes, warnings = await service.apply_camera_update(
            self.session,
            camera=camera,
            fields=fields,
            principal=self.principal,
            request_id=self.request_id,
            action="import",
            unconditional=True,
            index=self.index,
        )
        self.flag(row, code, warnings)
        if changes:
            self.updated += 1
        else:
            self.unchanged += 1

    async def _create(self, row: Row, data: CameraCreate) -> None:
        location = resolve_location(
            self.index,
            given=data.model_dump(include={"district", "ward"}),
            current=None,
            point=service.new_point(data),
        )
        if not self.principal.can_change_district(location.district):
            raise ValidationFailed(
                "outside the key's districts",
                errors=[
                    {"loc": ["district"], "msg": f"this key may not change devices in district {location.district!r}"}
                ],
            )
        values = service.new_camera_values(data, location)
        self.flag(row, data.code, location.warnings)
        if self.issue_tokens:
            issued = issue_device_token()
            self.new_credentials.append({"token_hash": issued.hash, "prefix": issued.prefix, "camera_id": values["id"]})
            self.tokens.append(ImportToken(line=row.line, code=data.code, id=values["id"], device_token=issued.secret))
        self.new_cameras.append(values)
        self.new_changes.append(
            change_row(
                {"camera_id": values["id"]},
                principal=self.principal,
                request_id=self.request_id,
                action="import",
                changes=created(service.values_state(values)),
            )
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
    issue_tokens: bool = False,
) -> ImportResult:
    """Upsert cameras by code from a spooled CSV or JSON-lines body; dry_run rolls everything back.

    With issue_tokens, each created camera gets a device token, returned this once (none on a dry run).
    """
    importer = Importer(
        session=session,
        principal=principal,
        request_id=request_id,
        index=await full_area_index(session),
        issue_tokens=issue_tokens and not dry_run,
    )
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
        flagged=importer.flagged,
        device_tokens=importer.tokens if issue_tokens else None,
    )
