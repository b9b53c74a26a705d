"""Camera credentials and per-camera extras, from the agency's own file or environment.

They stay with the agency: the registry never holds them in clear (stream URLs come masked) and the
agent sends them to nobody but the camera itself. The file is TOML:

    [default]                       # any camera without a better match
    username = "viewer"
    password = "..."

    [vendor.hikvision]              # matched case-insensitively against the registry's vendor
    username = "admin"
    password = "..."
    onvif_port = 80                 # ONVIF at http://<camera ip>:80/onvif/device_service
    substream = ["/101", "/102"]    # the hourly stream read replaces this in the stream path

    [camera."BTH-0042"]             # by code (or id); wins over vendor and default
    username = "..."
    password = "..."
    onvif_url = "http://10.1.2.3:8080/onvif/device_service"
    substream_url = "rtsp://10.1.2.3/Streaming/Channels/102"

CITYCAM_PROBE_CREDENTIALS (JSON) adds or overrides user names and passwords:
`{"BTH-0042": "user:pass", "vendor:dahua": "admin:pass", "*": "viewer:pass"}`.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from services.probe.rtsp import Credentials
from services.probe.schemas import CameraTarget


class CredentialsError(Exception):
    """The credentials file or variable cannot be used."""


@dataclass(frozen=True)
class SiteEntry:
    """One section of the file: credentials and extras, each optional."""

    username: str | None = None
    password: str | None = None
    onvif_url: str | None = None
    onvif_port: int | None = None
    substream: tuple[str, str] | None = None
    substream_url: str | None = None

    def merged_over(self, base: "SiteEntry") -> "SiteEntry":
        """This entry's values, falling back to base's."""
        return SiteEntry(
            username=self.username if self.username is not None else base.username,
            password=self.password if self.password is not None else base.password,
            onvif_url=self.onvif_url or base.onvif_url,
            onvif_port=self.onvif_port or base.onvif_port,
            substream=self.substream or base.substream,
            substream_url=self.substream_url or base.substream_url,
        )


@dataclass(frozen=True)
class CameraSite:
    """What the agent knows locally about one camera."""

    credentials: Credentials | None
    onvif_url: str | None
    substream_url: str | None


def _entry(where: str, raw: object) -> SiteEntry:
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where}: expected a table")
    known = {"username", "password", "onvif_url", "onvif_port", "substream", "substream_url"}
    unknown = set(raw) - known
    if unknown:
        raise CredentialsError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("username", "password", "onvif_url", "substream_url"):
        if key in raw and not isinstance(raw[key], str):
            raise CredentialsError(f"{where}.{key}: expected a string")
    port = raw.get("onvif_port")
    if port is not None and not (isinstance(port, int) and 0 < port < 65536):
        raise CredentialsError(f"{where}.onvif_port: expected a port number")
    sub = raw.get("substream")
    if sub is not None and not (isinstance(sub, list) and len(sub) == 2 and all(isinstance(s, str) for s in sub)):
        raise CredentialsError(f'{where}.substream: expected ["from", "to"]')
    return SiteEntry(
        username=raw.get("username"),
        password=raw.get("password"),
        onvif_url=raw.get("onvif_url"),
        onvif_port=port,
        substream=(sub[0], sub[1]) if sub else None,
        substream_url=raw.get("substream_url"),
    )


class Site:
    """The agency's local knowledge: credentials (per camera, per vendor, default) and extras."""

    def __init__(
        self,
        default: SiteEntry | None = None,
        vendors: dict[str, SiteEntry] | None = None,
        cameras: dict[str, SiteEntry] | None = None,
    ) -> None:
        self.default = default or SiteEntry()
        self.vendors = {k.lower(): v for k, v in (vendors or {}).items()}
        self.cameras = dict(cameras or {})

    @classmethod
    def load(cls, path: Path | None, overrides: dict[str, SecretStr]) -> "Site":
        """Read the TOML file (if any), then apply CITYCAM_PROBE_CREDENTIALS on top."""
        data: dict[str, object] = {}
        if path is not None:
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
            except tomllib.TOMLDecodeError as exc:
                raise CredentialsError(f"{path} is not valid TOML: {exc}") from None
        unknown = set(data) - {"default", "vendor", "camera"}
        if unknown:
            raise CredentialsError(f"unknown sections {sorted(unknown)} (use default, vendor.<name>, camera.<code>)")
        default = _entry("default", data["default"]) if "default" in data else SiteEntry()
        vendors_raw = data.get("vendor", {})
        cameras_raw = data.get("camera", {})
        if not isinstance(vendors_raw, dict) or not isinstance(cameras_raw, dict):
            raise CredentialsError("vendor and camera must be tables of tables")
        vendors = {str(k): _entry(f"vendor.{k}", v) for k, v in vendors_raw.items()}
        cameras = {str(k): _entry(f"camera.{k}", v) for k, v in cameras_raw.items()}
        for key, secret in overrides.items():
            username, sep, password = secret.get_secret_value().partition(":")
            if not sep:
                raise CredentialsError(f"CITYCAM_PROBE_CREDENTIALS[{key!r}]: expected 'user:password'")
            entry = SiteEntry(username=username, password=password)
            if key == "*":
                default = entry.merged_over(default)
            elif key.startswith("vendor:"):
                name = key.removeprefix("vendor:")
                vendors[name] = entry.merged_over(vendors.get(name, SiteEntry()))
            else:
                cameras[key] = entry.merged_over(cameras.get(key, SiteEntry()))
        return cls(default, vendors, cameras)

    def for_camera(self, target: CameraTarget) -> CameraSite:
        """Credentials and extras for one camera: its own entry, else its vendor's, else the default."""
        entry = self.default
        if target.vendor and target.vendor.lower() in self.vendors:
            entry = self.vendors[target.vendor.lower()].merged_over(entry)
        own = self.cameras.get(target.code) or self.cameras.get(target.id)
        if own is not None:
            entry = own.merged_over(entry)
        credentials = None
        if entry.username is not None:
            credentials = Credentials(entry.username, entry.password or "")
        onvif = entry.onvif_url
        if onvif is None and entry.onvif_port and target.ip:
            host = f"[{target.ip}]" if ":" in target.ip else target.ip
            onvif = f"http://{host}:{entry.onvif_port}/onvif/device_service"
        substream = entry.substream_url
        if substream is None and entry.substream and target.stream_url:
            old, new = entry.substream
            substream = target.stream_url.replace(old, new, 1) if old in target.stream_url else None
        return CameraSite(credentials, onvif, substream)
