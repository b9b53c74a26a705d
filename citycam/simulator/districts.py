"""The 22 HCMC district-level units (and the two former provinces), a disc of the same area around each
centroid as their extent."""

import csv
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DISTRICTS_CSV = Path(__file__).resolve().parent.parent / "data" / "hcmc-districts.csv"
KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_AT_EQUATOR = 111.320


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str
    lat: float
    lon: float
    area_km2: float

    @property
    def radius_km(self) -> float:
        """The radius of a disc with the district's area: the extent cameras are placed in."""
        return math.sqrt(self.area_km2 / math.pi)

    def distance_km(self, lat: float, lon: float) -> float:
        """Distance from the centroid (equirectangular; exact enough over a few km)."""
        dy = (lat - self.lat) * KM_PER_DEGREE_LAT
        dx = (lon - self.lon) * KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(self.lat))
        return math.hypot(dx, dy)

    def random_point(self, rng: random.Random, *, spread: float = 0.9) -> tuple[float, float]:
        """A uniform random point within spread x radius of the centroid, as (lat, lon)."""
        r = self.radius_km * spread * math.sqrt(rng.random())
        theta = rng.uniform(0, 2 * math.pi)
        return self.offset(r * math.sin(theta), r * math.cos(theta))

    def offset(self, north_km: float, east_km: float) -> tuple[float, float]:
        """The point this far north and east of the centroid, as (lat, lon) to six decimals."""
        lat = self.lat + north_km / KM_PER_DEGREE_LAT
        lon = self.lon + east_km / (KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(self.lat)))
        return round(lat, 6), round(lon, 6)


@lru_cache
def load_districts(path: Path = DISTRICTS_CSV) -> tuple[District, ...]:
    """The districts of the reference CSV, in file order."""
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(
            District(
                code=row["code"],
                name=row["name"],
                kind=row["kind"],
                lat=float(row["centroid_lat"]),
                lon=float(row["centroid_lon"]),
                area_km2=float(row["area_km2"]),
            )
            for row in csv.DictReader(fh)
        )
