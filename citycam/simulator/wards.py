"""The 168 units of 2025 as places for simulated cameras, each a disc inside its legacy district's disc.

The reference data gives no ward outlines or centroids, so the simulator makes up a plausible layout:
the n units that came from one district share its disc, each a disc of 1/n of its area, spread over it on
a sunflower spiral (even coverage, deterministic). Good enough to cluster a ward's cameras together on
a map and in ward incidents; not where the wards really are.
"""

import csv
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from citycam.simulator.districts import District, load_districts

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
WARDS_CSV = SHARED_DATA / "hcmc-wards-2025.csv"
PROVINCES_CSV = SHARED_DATA / "hcmc-former-provinces.csv"
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))


@dataclass(frozen=True)
class Ward:
    """A 2025 unit as a place (a disc, like a district) and the legacy district it came from."""

    place: District
    district: District


@lru_cache
def legacy_homes() -> tuple[District, ...]:
    """The 22 districts and the two former provinces every 2025 unit came from."""
    return load_districts() + load_districts(PROVINCES_CSV)


@lru_cache
def load_wards(path: Path = WARDS_CSV) -> tuple[Ward, ...]:
    """The units of the reference CSV, in file order, each placed inside its legacy district."""
    homes = {d.code: d for d in legacy_homes()}
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    siblings: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        siblings.setdefault(row["former_district"], []).append(row)
    wards = []
    for row in rows:
        home = homes[row["former_district"]]
        group = siblings[row["former_district"]]
        k, n = group.index(row), len(group)
        # The k-th of n points of a sunflower spiral over the district's disc, pulled in by one ward radius.
        reach = home.radius_km * max(0.0, 1 - 1 / math.sqrt(n))
        r, theta = reach * math.sqrt((k + 0.5) / n), k * GOLDEN_ANGLE
        lat, lon = home.offset(r * math.sin(theta), r * math.cos(theta))
        place = replace(home, code=row["code"], name=row["name"], lat=lat, lon=lon, area_km2=home.area_km2 / n)
        wards.append(Ward(place=place, district=home))
    return tuple(wards)
