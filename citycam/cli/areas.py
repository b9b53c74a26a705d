"""`citycam areas load FILE`: load a reference area set (such as the 2025 wards) from CSV; `areas boundaries`
(boundaries.py) loads their outlines."""

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from citycam.cli.boundaries import boundaries
from citycam.cli.common import console, ensure_database, progress_bar, run, summary_table
from shared.db import make_engine, make_sessionmaker
from shared.models import AREA_LEVELS, Area
from shared.schemas import AREA_CODE_PATTERN

app = typer.Typer(no_args_is_help=True)
app.command()(boundaries)

COLUMNS = ("code", "name", "level", "parent")
OPTIONAL = ("former_district",)
_CODE = re.compile(AREA_CODE_PATTERN)
_SET = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,31}$")
_LEVEL_RANK = {level: rank for rank, level in enumerate(AREA_LEVELS)}
WRITTEN = ("name", "level", "parent", "area_set", "former_district")


@dataclass
class Loaded:
    """What a load did, row by row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def parse_areas(text: str) -> tuple[list[dict[str, str | None]], list[str]]:
    """The areas of a CSV file with columns code,name,level,parent and optionally former_district (the legacy
    district a unit came from; any other column is ignored), and its errors."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [f"line 1: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"]
    reader.fieldnames = header
    areas: list[dict[str, str | None]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        level = (row.get("level") or "").strip().lower()
        parent = (row.get("parent") or "").strip() or None
        former = (row.get("former_district") or "").strip() or None
        problems = []
        if not _CODE.match(code):
            problems.append(f"code {code!r} is not a valid area code")
        if not name or len(name) > 200 or "\x00" in name:
            problems.append("name must be 1-200 characters")
        if level not in AREA_LEVELS:
            problems.append(f"level must be one of {', '.join(AREA_LEVELS)}")
        if parent is not None and not _CODE.match(parent):
            problems.append(f"parent {parent!r} is not a valid area code")
        if former is not None and not _CODE.match(former):
            problems.append(f"former_district {former!r} is not a valid area code")
        if code in seen:
            problems.append(f"code {code!r} appears twice")
        seen.add(code)
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        areas.append({"code": code, "name": name, "level": level, "parent": parent, "former_district": former})
    return areas, errors


async def load_areas(
    url: str,
    areas: list[dict[str, str | None]],
    *,
    area_set: str | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> tuple[Loaded, list[str]]:
    """Upsert the areas into `area_set` in one transaction (parents first); nothing is written when a
    parent or former district is unknown."""
    engine = make_engine(url, application_name="citycam-cli")
    try:
        async with make_sessionmaker(engine)() as session:
            stored = {a.code: a for a in (await session.execute(select(Area))).scalars()}
            known = set(stored) | {str(a["code"]) for a in areas}
            errors = [
                f"{a['code']}: unknown {column} {a[column]!r}"
                for a in areas
                for column in ("parent", "former_district")
                if a.get(column) is not None and a[column] not in known
            ]
            if errors:
                return Loaded(), errors
            loaded = Loaded()
            for area in sorted(areas, key=lambda a: _LEVEL_RANK[str(a["level"])]):
                before = stored.get(str(area["code"]))
                # Without --set an area keeps the set it has.
                values = {**area, "area_set": area_set if area_set or before is None else before.area_set}
                if before is None:
                    loaded.created += 1
                elif all(getattr(before, c) == values.get(c) for c in WRITTEN):
                    loaded.unchanged += 1
                    advance(1)
                    continue
                else:
                    loaded.updated += 1
                stmt = insert(Area).values(**values)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[Area.code], set_={c: stmt.excluded[c] for c in WRITTEN}
                )
                await session.execute(stmt)
                advance(1)
            await session.commit()
            return loaded, []
    finally:
        await engine.dispose()


@app.command()
def load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    area_set: Annotated[
        str | None, typer.Option("--set", help="The area set of the rows (e.g. 2025); without it an area keeps its set")
    ] = None,
) -> None:
    """Load or update areas from a CSV file with columns code,name,level,parent[,former_district] (all or
    nothing)."""
    if area_set is not None and not _SET.match(area_set):
        console.print("[red]--set must be 1-32 lower-case letters, digits, '.', '_' or '-'[/]")
        raise typer.Exit(2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        console.print("[red]the file is not UTF-8[/]")
        raise typer.Exit(2) from None
    areas, errors = parse_areas(text)
    loaded = Loaded()
    if not errors:
        url, _ = ensure_database()
        with progress_bar() as progress:
            task = progress.add_task(f"areas from {file.name}", total=len(areas))
            loaded, errors = run(load_areas(url, areas, area_set=area_set, advance=lambda n: progress.advance(task, n)))
    if errors:
        for error in errors[:50]:
            console.print(f"[red]{error}[/]")
        console.print(f"[red]nothing loaded: {len(errors)} error(s)[/]")
        raise typer.Exit(1)
    rows = [("created", loaded.created), ("updated", loaded.updated), ("unchanged", loaded.unchanged)]
    console.print(summary_table(f"areas of set {area_set or '(none)'} from {file.name}", rows))
