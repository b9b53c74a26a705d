"""Registration over the registry's public API: gateways, then cameras in bulk, then their device tokens."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.progress import Progress

from citycam.simulator.fleet import Fleet

log = logging.getLogger(__name__)

IMPORT_CHUNK = 1000
RETRIES = 5
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


class RegistrationError(RuntimeError):
    """The registry refused something the simulator cannot work around."""


@dataclass
class Credentials:
    """Device tokens (shown once by the registry) and ids, kept in memory only."""

    camera_tokens: dict[str, str] = field(default_factory=dict)  # camera code -> token
    gateway_tokens: dict[str, str] = field(default_factory=dict)  # gateway code -> token
    gateway_ids: dict[str, str] = field(default_factory=dict)  # gateway code -> id
    rejected: dict[str, str] = field(default_factory=dict)  # camera code -> why the registry refused it
    import_used: str = ""  # how the cameras were registered, for the report


def _token_of(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("device_token", "token"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None


async def _call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A request retried on 429/503 (honouring Retry-After) and on transport errors."""
    delay = 0.5
    for attempt in range(RETRIES):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise
            await asyncio.sleep(delay)
            delay *= 2
            continue
        if response.status_code in (429, 503) and attempt < RETRIES - 1:
            retry_after = response.headers.get("retry-after", "")
            await asyncio.sleep(float(retry_after) if retry_after.replace(".", "", 1).isdigit() else delay)
            delay *= 2
            continue
        return response
    raise AssertionError("unreachable")


def _fail(what: str, response: httpx.Response) -> RegistrationError:
    return RegistrationError(f"{what}: HTTP {response.status_code} {response.text[:300]}")


async def _bounded(items: Sequence[Any], worker: Callable[[Any], Awaitable[None]], concurrency: int) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def drain() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await worker(item)

    await asyncio.gather(*(drain() for _ in range(max(1, min(concurrency, len(items))))))


async def _register_gateways(
    client: httpx.AsyncClient, fleet: Fleet, creds: Credentials, progress: Progress, concurrency: int
) -> None:
    task = progress.add_task("gateways", total=len(fleet.gateways))
    unsupported: list[str] = []

    async def one(index: int) -> None:
        gateway = fleet.gateways[index]
        if unsupported:
            return
        response = await _call(client, "POST", "/v1/gateways", json=gateway.api_body())
        if response.status_code in (404, 405):
            unsupported.append(f"POST /v1/gateways answered {response.status_code}")
            return
        if response.status_code == 201:
            body = response.json()
            creds.gateway_ids[gateway.code] = str(body["id"])
            token = _token_of(body)
            if token:
                creds.gateway_tokens[gateway.code] = token
        elif response.status_code == 409:
            found = await _call(client, "GET", f"/v1/gateways/{gateway.code}")
            if found.status_code != 200:
                raise _fail(f"gateway {gateway.code} exists but cannot be read", found)
            creds.gateway_ids[gateway.code] = str(found.json()["id"])
        else:
            raise _fail(f"registering gateway {gateway.code}", response)
        if gateway.code not in creds.gateway_tokens:
            rotated = await _call(client, "POST", f"/v1/gateways/{creds.gateway_ids[gateway.code]}/rotate-token")
            if rotated.status_code not in (200, 201) or not _token_of(rotated.json()):
                raise _fail(f"rotating the token of gateway {gateway.code}", rotated)
            creds.gateway_tokens[gateway.code] = str(_token_of(rotated.json()))
        progress.advance(task)

    await _bounded(range(len(fleet.gateways)), one, concurrency)
    if unsupported:
        # Without gateways their cameras report for themselves, so the run still covers the whole fleet.
        log.warning("gateways unavailable (%s); their cameras report directly", unsupported[0])
        progress.update(task, description=f"gateways: unavailable ({unsupported[0]})", completed=len(fleet.gateways))
        for camera in fleet.cameras:
            camera.gateway = None
        fleet.gateways.clear()
        fleet.reindex()


async def _import(client: httpx.AsyncClient, fleet: Fleet, creds: Credentials, progress: Progress) -> list[str] | None:
    """Register the cameras with POST /v1/cameras/import in chunks; None when the endpoint is missing."""
    task = progress.add_task("cameras (import)", total=len(fleet.cameras))
    registered: list[str] = []
    content_types = list(JSON_LINES_TYPES)
    for start in range(0, len(fleet.cameras), IMPORT_CHUNK):
        chunk = fleet.cameras[start : start + IMPORT_CHUNK]
        payload = "\n".join(json.dumps(c.api_body(creds.gateway_ids), ensure_ascii=False) for c in chunk).encode()
        while True:
            response = await _call(
                client,
                "POST",
                "/v1/cameras/import",
                # Created cameras come back with their tokens: only cameras of an earlier run need rotate-token.
                params={"issue_tokens": "true"},
                content=payload,
                headers={"content-type": content_types[0]},
                timeout=120,
            )
            if response.status_code == 415 and len(content_types) > 1:
                content_types.pop(0)
                continue
            break
        if response.status_code in (404, 405, 415) and start == 0:
            progress.update(task, description=f"cameras (import unavailable: {response.status_code})", visible=False)
            return None
        if response.status_code != 200:
            raise _fail("importing cameras", response)
        body = response.json()
        rejected = {int(r.get("line", 0)): r for r in body.get("rejected", [])}
        tokens = {t["code"]: t["device_token"] for t in body.get("device_tokens") or []}
        for line, camera in enumerate(chunk, start=1):
            if line in rejected:
                creds.rejected[camera.code] = json.dumps(rejected[line].get("errors"), ensure_ascii=False)[:300]
                continue
            registered.append(camera.code)
            if camera.code in tokens:
                creds.camera_tokens[camera.code] = tokens[camera.code]
        progress.advance(task, len(chunk))
    creds.import_used = f"POST /v1/cameras/import ({content_types[0]})"
    return registered


async def _rotate_cameras(
    client: httpx.AsyncClient, codes: list[str], creds: Credentials, progress: Progress, concurrency: int
) -> None:
    missing = [code for code in codes if code not in creds.camera_tokens]
    task = progress.add_task("device tokens (rotate)", total=len(missing))

    async def one(code: str) -> None:
        response = await _call(client, "POST", f"/v1/cameras/{code}/rotate-token")
        token = _token_of(response.json()) if response.status_code in (200, 201) else None
        if token is None:
            creds.rejected[code] = f"rotate-token: HTTP {response.status_code}"
        else:
            creds.camera_tokens[code] = token
        progress.advance(task)

    await _bounded(missing, one, concurrency)


async def _create_one_by_one(
    client: httpx.AsyncClient, fleet: Fleet, creds: Credentials, progress: Progress, concurrency: int
) -> list[str]:
    task = progress.add_task("cameras (one by one)", total=len(fleet.cameras))
    registered: list[str] = []

    async def one(index: int) -> None:
        camera = fleet.cameras[index]
        response = await _call(client, "POST", "/v1/cameras", json=camera.api_body(creds.gateway_ids))
        if response.status_code == 201:
            token = _token_of(response.json())
            if token:
                creds.camera_tokens[camera.code] = token
            registered.append(camera.code)
        elif response.status_code == 409:
            registered.append(camera.code)  # from an earlier run: its token is rotated below
        elif response.status_code in (400, 403, 422):
            creds.rejected[camera.code] = response.text[:300]
        else:
            raise _fail(f"registering camera {camera.code}", response)
        progress.advance(task)

    await _bounded(range(len(fleet.cameras)), one, concurrency)
    creds.import_used = "POST /v1/cameras (one by one)"
    return registered


async def register(
    fleet: Fleet, *, registry_url: str, api_key: str, progress: Progress, concurrency: int = 32
) -> Credentials:
    """Register the fleet and collect a live device token for every camera and gateway."""
    creds = Credentials()
    headers = {"authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=registry_url, headers=headers, limits=limits, timeout=30) as client:
        probe = await _call(client, "GET", "/v1/areas", params={"limit": 1})
        if probe.status_code in (401, 403):
            raise _fail("the API key was refused", probe)
        await _register_gateways(client, fleet, creds, progress, concurrency)
        registered = await _import(client, fleet, creds, progress)
        if registered is None:
            registered = await _create_one_by_one(client, fleet, creds, progress, concurrency)
        await _rotate_cameras(client, registered, creds, progress, concurrency)
    return creds
