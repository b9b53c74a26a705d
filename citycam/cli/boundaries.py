"""`citycam areas boundaries FILE.geojson`: load outlines for an area set (validated, simplified, stored).

citycam ships no boundary data: the city's own outlines carry their own licence, which is the user's to
honour (`--source` is stored with each outline, and shown by the boundaries API, for the attribution).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import shapely
import typer
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citycam.cli.common import console, ensure_database, progress_bar, run, summary_table
from shared.db import make_engine, make_sessionmaker
from shared.models import Area, AreaBoundary

METRES_PER_DEGREE = 111_320.0
POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Outline:
    """One area's outline, checked and simplified, ready to store."""

    code: str
    geometry: BaseGeometry
    vertices_in: int
    repaired: bool

    def row(self, source: str | None) -> dict[str, Any]:
        """The area_boundary columns."""
        min_lon, min_lat, max_lon, max_lat = self.geometry.bounds
        return {
            "code": self.code,
            "geometry": json.loads(json.dumps(mapping(self.geometry))),
            "min_lat": min_lat,
            "max_lat": max_lat,
            "min_lon": min_lon,
            "max_lon": max_lon,
            "vertices": vertex_count(self.geometry),
            "source": source,
        }


def vertex_count(geometry: BaseGeometry) -> int:
    """The geometry's number of coordinates (closing points included)."""
    return int(shapely.get_num_coordinates(geometry))


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The polygons of a repaired geometry (make_valid can leave lines and points beside them)."""
    if geometry.geom_type in POLYGONAL:
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if g.geom_type in POLYGONAL]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def parse_outline(feature: Any, *, code_property: str, tolerance_deg: float) -> Outline:
    """One GeoJSON Feature as an outline; ValueError says what is wrong with it."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    properties = feature.get("properties") or {}
    code = properties.get(code_property, feature.get("id")) if isinstance(properties, dict) else feature.get("id")
    if not isinstance(code, (str, int)) or isinstance(code, bool) or not str(code).strip():
        raise ValueError(f"no area code (property {code_property!r}, or the feature's id)")
    code = str(code).strip()
    raw = feature.get("geometry")
    if not isinstance(raw, dict) or raw.get("type") not in POLYGONAL:
        raise ValueError(f"{code}: the geometry must be a Polygon or MultiPolygon")
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
        raise ValueError(f"{code}: unreadable geometry ({exc})") from None
    min_lon, min_lat, max_lon, max_lat = geometry.bounds if not geometry.is_empty else (0, 0, 0, 0)
    if geometry.is_empty or not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError(f"{code}: empty, or coordinates outside [longitude, latitude] ranges")
    repaired = not geometry.is_valid
    if repaired:
        geometry = _polygonal(shapely.make_valid(geometry))
    vertices_in = vertex_count(geometry)
    simplified = geometry.simplify(tolerance_deg, preserve_topology=True)
    # Six decimals (~0.1 m) is all a map or a point test needs; RFC 7946 rings run counter-clockwise.
    simplified = shapely.orient_polygons(shapely.set_precision(simplified, 1e-6))
    if simplified.is_empty or simplified.area == 0:
        raise ValueError(f"{code}: nothing is left of the outline (self-crossing or thinner than the tolerance)")
    return Outline(code=code, geometry=simplified, vertices_in=vertices_in, repaired=repaired)


def parse_boundaries(
    text: str, *, code_property: str = "code", tolerance_m: float = 10.0
) -> tuple[list[Outline], list[str]]:
    """The outlines of a GeoJSON FeatureCollection, and what is wrong with it (feature by feature)."""
    try:
        document = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        return [], [f"not JSON: {exc}"]
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return [], ["expected a GeoJSON FeatureCollection"]
    features = document.get("features")
    if not isinstance(features, list) or not features:
        return [], ["the FeatureCollection has no features"]
    outlines: list[Outline] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, feature in enumerate(features, start=1):
        try:
            outline = parse_outline(feature, code_property=code_property, tolerance_deg=tolerance_m / METRES_PER_DEGREE)
        except ValueError as exc:
            errors.append(f"feature {number}: {exc}")
            continue
        if outline.code in seen:
            errors.append(f"feature {number}: {outline.code} appears twice")
        seen.add(outline.code)
        outlines.append(outline)
    return outlines, errors


async def store_boundaries(
    session: AsyncSession, outlines: Sequence[Outline], *, area_set: str, source: str | None, replace: bool
) -> list[str]:
    """Upsert the outlines of areas of `area_set` (all or nothing); the codes that are not in the set."""
    codes = [o.code for o in outlines]
    known = set((await session.execute(select(Area.code).where(Area.area_set == area_set))).scalars())
    unknown = [code for code in codes if code not in known]
    if unknown:
        return unknown
    if replace:
        in_set = select(Area.code).where(Area.area_set == area_set)
        await session.execute(delete(AreaBoundary).where(AreaBoundary.code.in_(in_set)))
    for outline in outlines:
        stmt = insert(AreaBoundary).values(**outline.row(source))
        columns = ("geometry", "min_lat", "max_lat", "min_lon", "max_lon", "vertices", "source")
        updates = {c: stmt.excluded[c] for c in columns} | {"loaded_at": func.now()}
        await session.execute(stmt.on_conflict_do_update(index_elements=[AreaBoundary.code], set_=updates))
    await session.flush()
    return []


async def _store(url: str, outlines: list[Outline], *, area_set: str, source: str | None, replace: bool) -> list[str]:
    engine = make_engine(url, application_name="citycam-cli")
    try:
        async with make_sessionmaker(engine)() as session:
            unknown = await store_boundaries(session, outlines, area_set=area_set, source=source, replace=replace)
            if not unknown:
                await session.commit()
            return unknown
    finally:
        await engine.dispose()


def boundaries(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A GeoJSON FeatureCollection")
    ],
    area_set: Annotated[str, typer.Option("--set", help="The area set the outlines belong to (e.g. 2025)")],
    code_property: Annotated[
        str, typer.Option(help="The feature property holding the area code (else its id)")
    ] = "code",
    tolerance_m: Annotated[float, typer.Option(min=0, max=1000, help="Simplification tolerance in metres")] = 10.0,
    source: Annotated[
        str | None, typer.Option(help="Where the outlines come from and their licence (stored and shown)")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Drop the set's outlines that the file does not have")] = False,
) -> None:
    """Load area outlines from GeoJSON: each checked (repaired when self-crossing), simplified, stored."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        console.print("[red]the file is not UTF-8 (GeoJSON must be, RFC 7946)[/]")
        raise typer.Exit(2) from None
    with progress_bar() as progress:
        task = progress.add_task("checking outlines", total=None)
        outlines, errors = parse_boundaries(text, code_property=code_property, tolerance_m=tolerance_m)
        progress.update(task, total=len(outlines) + len(errors), completed=len(outlines) + len(errors))
        if not errors:
            url, _ = ensure_database()
            store = progress.add_task("storing", total=len(outlines))
            unknown = run(_store(url, outlines, area_set=area_set, source=source or file.name, replace=replace))
            errors = [f"{code}: not an area of set {area_set!r}" for code in unknown]
            progress.update(store, completed=len(outlines))
    if errors:
        for error in errors[:50]:
            console.print(f"[red]{error}[/]")
        console.print(f"[red]nothing loaded: {len(errors)} error(s)[/]")
        raise typer.Exit(1)
    console.print(
        summary_table(
            f"boundaries of set {area_set} from {file.name}",
            [
                ("outlines stored", len(outlines)),
                ("repaired (self-crossing)", sum(o.repaired for o in outlines)),
                ("vertices in the file", sum(o.vertices_in for o in outlines)),
                ("vertices kept", sum(vertex_count(o.geometry) for o in outlines)),
            ],
        )
    )
