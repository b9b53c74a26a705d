"""ONVIF `GetSystemDateAndTime`: reachability and the camera's clock, without credentials.

The ONVIF core specification (5.9.1, "pre-authentication") requires devices to answer this call
unauthenticated, precisely so that a client can learn the clock before WS-Security (whose tokens are
time-stamped) can work: a camera whose clock is off breaks ONVIF logins and the evidence value of
its recordings' timestamps.
"""

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

MAX_BODY_BYTES = 64 * 1024
REQUEST = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    b"</s:Body></s:Envelope>"
)
HEADERS = {
    "Content-Type": 'application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"'
}


@dataclass(frozen=True)
class OnvifClock:
    """The answer: reachable or not (with why), and the clock skew when the camera gave UTC."""

    reachable: bool
    clock_skew_s: float | None = None
    detail: str | None = None
    latency_ms: float | None = None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse(body: bytes) -> datetime | None:
    """The UTCDateTime of a GetSystemDateAndTimeResponse, or None when the camera gave none."""
    # ElementTree resolves no external entities, and the expat it runs on (>= 2.4) bounds entity
    # expansion; the body is also capped at 64 KiB before it gets here.
    root = ET.fromstring(body)  # noqa: S314
    for node in root.iter():
        if _local(node.tag) != "UTCDateTime":
            continue
        values = {_local(leaf.tag): (leaf.text or "").strip() for leaf in node.iter()}
        try:
            return datetime(
                int(values["Year"]),
                int(values["Month"]),
                int(values["Day"]),
                int(values["Hour"]),
                int(values["Minute"]),
                int(values["Second"]),
                tzinfo=UTC,
            )
        except (KeyError, ValueError):
            return None
    return None


async def system_date_and_time(client: httpx.AsyncClient, url: str, *, timeout: float) -> OnvifClock:
    """Call GetSystemDateAndTime on the device service at url."""
    started = time.perf_counter()
    sent = time.time()
    try:
        async with client.stream("POST", url, content=REQUEST, headers=HEADERS, timeout=timeout) as response:
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    return OnvifClock(False, detail="answer larger than 64 KiB")
    except httpx.TimeoutException:
        return OnvifClock(False, detail=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return OnvifClock(False, detail=type(exc).__name__)
    received = time.time()
    latency = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return OnvifClock(False, detail=f"HTTP {response.status_code}", latency_ms=latency)
    try:
        when = _parse(body)
    except ET.ParseError:
        return OnvifClock(False, detail="answer is not XML", latency_ms=latency)
    if when is None:
        return OnvifClock(True, detail="no UTCDateTime in the answer", latency_ms=latency)
    # Seconds resolution, like the RTSP Date header: +0.5 s for the middle of the reported second.
    return OnvifClock(True, clock_skew_s=when.timestamp() + 0.5 - (sent + received) / 2, latency_ms=latency)
