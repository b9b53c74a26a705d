"""Small helpers the tests share."""

import socket
from typing import Any

PROBLEM_JSON = "application/problem+json"

VALID_CAMERA: dict[str, Any] = {
    "code": "BTH-0001",
    "name": "Cầu Sài Gòn - hướng Thủ Đức",
    "latitude": 10.7985,
    "longitude": 106.7240,
    "district": "BTH",
    "road": "Xa lộ Hà Nội",
    "kind": "ptz",
    "vendor": "Hikvision",
    "model": "DS-2DE4425IW",
    "tags": ["bridge", "traffic"],
    "owner": "Sở GTVT",
}


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for a key or token."""
    return {"Authorization": f"Bearer {key}"}


def camera(**overrides: Any) -> dict[str, Any]:
    """A valid camera body with some fields replaced."""
    return {**VALID_CAMERA, **overrides}


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def box_feature(code: str, min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    """A GeoJSON Feature whose outline is a box (a generated boundary: citycam ships none)."""
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]
    return {"type": "Feature", "properties": {"code": code}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


# Two made-up ward outlines inside the city's bounding box: Phường Sài Gòn (Q1) and Bình Lợi Trung (BTH).
SAIGON_BOX = box_feature("26740", 106.69, 10.77, 106.71, 10.79)
BINH_LOI_TRUNG_BOX = box_feature("26905", 106.70, 10.80, 106.73, 10.82)


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below


def windows_1258(text: str) -> bytes:
    """Text as a Vietnamese Windows writes it in code page 1258: letters it has precomposed, the tone as a
    combining mark after its letter otherwise (so ễ is ê + U+0303)."""
    import unicodedata

    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tone = next(mark for mark in decomposed if mark in TONE_MARKS)
            letter = unicodedata.normalize("NFC", decomposed.replace(tone, ""))
            out += letter.encode("cp1258") + tone.encode("cp1258")
    return bytes(out)
