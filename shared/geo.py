"""Query parameters that name a place on the map, parsed once for every service: a bounding box
(`bbox=minLon,minLat,maxLon,maxLat`) and a point with a radius (`near=lat,lon&radius_m=`)."""

import math

from shared.errors import ValidationFailed

# minLon, minLat, maxLon, maxLat: the GeoJSON order, longitude first.
BBox = tuple[float, float, float, float]
# lat, lon: the order people write a point in (and the API's near=).
Point = tuple[float, float]


def _numbers(raw: str, count: int, name: str) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(parts) != count or len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValidationFailed(
            f"{name} must be {count} comma-separated numbers",
            errors=[{"loc": ["query", name], "msg": f"expected {count} comma-separated finite numbers"}],
        )
    return values


def _check_range(name: str, lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed(
            f"{name}: latitude must be within -90..90 and longitude within -180..180",
            errors=[{"loc": ["query", name], "msg": "coordinates out of range"}],
        )


def parse_bbox(raw: str | None) -> BBox | None:
    """bbox=minLon,minLat,maxLon,maxLat (None when absent); 422 when malformed, out of range or min > max."""
    if raw is None:
        return None
    min_lon, min_lat, max_lon, max_lat = _numbers(raw, 4, "bbox")
    _check_range("bbox", min_lat, min_lon)
    _check_range("bbox", max_lat, max_lon)
    if min_lon > max_lon or min_lat > max_lat:
        raise ValidationFailed(
            "bbox must be minLon,minLat,maxLon,maxLat with min <= max",
            errors=[{"loc": ["query", "bbox"], "msg": "min must not exceed max"}],
        )
    return min_lon, min_lat, max_lon, max_lat


def parse_near(near: str | None, radius_m: float | None) -> Point | None:
    """near=lat,lon (None when absent); 422 when malformed, out of range, or given without radius_m or
    radius_m without it."""
    if (near is None) != (radius_m is None):
        raise ValidationFailed(
            "near and radius_m go together",
            errors=[{"loc": ["query", "near" if near is None else "radius_m"], "msg": "near and radius_m go together"}],
        )
    if near is None:
        return None
    lat, lon = _numbers(near, 2, "near")
    _check_range("near", lat, lon)
    return lat, lon
