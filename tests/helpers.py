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
