"""`citycam areas load FILE`: load a reference area set (such as the 2025 wards) from CSV."""

import csv
import io
import re
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from citycam.cli.common import console, ensure_database, run
from shared.db import make_engine, make_sessionmaker
from shared.models import AREA_LEVELS, Area

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("code", "name", "level", "parent")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,31}$")
_LEVEL_RANK = {level: rank for rank, level in enumerate(AREA_LEVELS)}


def parse_areas(text: str) -> tuple[list[dict[str, str | None]], list[str]]:
    """The areas of a CSV file with columns code,name,level,parent (any others ignored), and its errors."""
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
        problems = []
        if not _CODE.match(code):
            problems.append(f"code {code!r} is not a valid area code")
        if not name or len(name) > 200 or "\x00" in name:
            problems.append("name must be 1-200 characters")
        if level not in AREA_LEVELS:
            problems.append(f"level must be one of {', '.join(AREA_LEVELS)}")
        if parent is not None and not _CODE.match(parent):
            problems.append(f"parent {parent!r} is not a valid area code")
        if code in seen:
            problems.append(f"code {code!r} appears twice")
        seen.add(code)
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        areas.append({"code": code, "name": name, "level": level, "parent": parent})
    return areas, errors


async def load_areas(url: str, areas: list[dict[str, str | None]]) -> tuple[int, list[str]]:
    """Upsert the areas in one transaction (parents first); nothing is written when a parent is unknown."""
    engine = make_engine(url, application_name="citycam-cli")
    try:
        async with make_sessionmaker(engine)() as session:
            known = set((await session.execute(select(Area.code))).scalars()) | {str(a["code"]) for a in areas}
            errors = [
                f"{a['code']}: unknown parent {a['parent']!r}"
                for a in areas
                if a["parent"] is not None and a["parent"] not in known
            ]
            if errors:
                return 0, errors
            for area in sorted(areas, key=lambda a: _LEVEL_RANK[str(a["level"])]):
                stmt = insert(Area).values(**area)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[Area.code],
                    set_={"name": stmt.excluded.name, "level": stmt.excluded.level, "parent": stmt.excluded.parent},
                )
                await session.execute(stmt)
            await session.commit()
            return len(areas), []
    finally:
        await engine.dispose()


@app.command()
def load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Load or update areas from a CSV file with columns code,name,level,parent (all or nothing)."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        console.print("[red]the file is not UTF-8[/]")
        raise typer.Exit(2) from None
    areas, errors = parse_areas(text)
    if not errors:
        url, _ = ensure_database()
        count, errors = run(load_areas(url, areas))
    if errors:
        for error in errors[:50]:
            console.print(f"[red]{error}[/]")
        console.print(f"[red]nothing loaded: {len(errors)} error(s)[/]")
        raise typer.Exit(1)
    console.print(f"loaded {count} areas from {file}")
