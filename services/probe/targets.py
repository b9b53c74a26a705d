"""The cameras to check: from the registry (`GET /v1/gateways/self/cameras` with the gateway token,
refreshed cheaply with `If-None-Match`), or from a local JSON file."""

import logging
from pathlib import Path

import httpx
import msgspec

from services.probe.schemas import CameraTarget, camera_list_decoder, targets_file_decoder

log = logging.getLogger(__name__)

CAMERAS_PATH = "/v1/gateways/self/cameras"


class TargetsError(Exception):
    """The camera list cannot be had (bad token, registry down, unreadable file)."""


class RegistryTargets:
    """The registry's list of the cameras behind this agent's gateway."""

    def __init__(self, client: httpx.AsyncClient, *, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.etag: str | None = None
        self.gateway_code: str | None = None

    async def fetch(self) -> list[CameraTarget] | None:
        """The list, or None when it has not changed since the last fetch."""
        headers = dict(self.headers)
        if self.etag:
            headers["If-None-Match"] = self.etag
        try:
            response = await self.client.get(CAMERAS_PATH, headers=headers)
        except httpx.HTTPError as exc:
            raise TargetsError(f"registry unreachable: {type(exc).__name__}") from None
        if response.status_code == 304:
            return None
        if response.status_code in (401, 403):
            raise TargetsError(f"the registry refused the gateway token ({response.status_code})")
        if response.status_code != 200:
            raise TargetsError(f"the registry answered {response.status_code}")
        try:
            listing = camera_list_decoder.decode(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TargetsError(f"unreadable camera list: {exc}") from None
        self.etag = response.headers.get("etag")
        self.gateway_code = listing.gateway.code
        return listing.items


class FileTargets:
    """A JSON file `{"items": [{"id", "code", "ip", "stream_url", "heartbeat_interval_s", "vendor"}, ...]}`,
    read again when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mtime: float | None = None
        self.gateway_code: str | None = None

    async def fetch(self) -> list[CameraTarget] | None:
        """The list, or None when the file has not changed."""
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self.mtime:
                return None
            items = targets_file_decoder.decode(self.path.read_bytes()).items
        except OSError as exc:
            raise TargetsError(f"cannot read {self.path}: {exc.strerror}") from None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TargetsError(f"{self.path}: {exc}") from None
        self.mtime = mtime
        return items


Targets = RegistryTargets | FileTargets
