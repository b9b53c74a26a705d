"""Credentials per camera, per vendor and by default, from the agency's file and environment."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from services.probe.credentials import CredentialsError, Site
from services.probe.schemas import CameraTarget

FILE = """
[default]
username = "viewer"
password = "d"

[vendor.Hikvision]
username = "admin"
password = "h"
onvif_port = 8080
substream = ["/101", "/102"]

[camera."BTH-0042"]
password = "own"
"""


def _target(code: str = "X-1", vendor: str | None = None) -> CameraTarget:
    return CameraTarget(
        id="0f8c8d4e-0000-4000-8000-000000000001",
        code=code,
        ip="10.0.0.5",
        stream_url="rtsp://***@10.0.0.5/Streaming/Channels/101",
        vendor=vendor,
    )


@pytest.fixture
def site(tmp_path: Path) -> Site:
    path = tmp_path / "cameras.toml"
    path.write_text(FILE)
    return Site.load(path, {})


def test_the_default_applies_to_any_camera(site: Site) -> None:
    creds = site.for_camera(_target()).credentials
    assert creds is not None and (creds.username, creds.password) == ("viewer", "d")


def test_the_vendor_entry_matches_case_insensitively_with_its_extras(site: Site) -> None:
    local = site.for_camera(_target(vendor="hikvision"))
    assert local.credentials is not None and local.credentials.password == "h"
    assert local.onvif_url == "http://10.0.0.5:8080/onvif/device_service"
    assert local.substream_url == "rtsp://***@10.0.0.5/Streaming/Channels/102"


def test_a_camera_entry_wins_and_falls_back_field_by_field(site: Site) -> None:
    creds = site.for_camera(_target("BTH-0042", vendor="Hikvision")).credentials
    assert creds is not None and (creds.username, creds.password) == ("admin", "own")


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cameras.toml"
    path.write_text(FILE)
    site = Site.load(path, {"vendor:hikvision": SecretStr("root:env"), "X-1": SecretStr("u:p:with:colons")})
    assert site.for_camera(_target("Y", vendor="Hikvision")).credentials.password == "env"  # type: ignore[union-attr]
    assert site.for_camera(_target()).credentials.password == "p:with:colons"  # type: ignore[union-attr]


def test_no_file_and_no_environment_means_no_credentials() -> None:
    assert Site.load(None, {}).for_camera(_target()).credentials is None


def test_a_password_never_appears_in_the_repr(site: Site) -> None:
    assert "own" not in repr(site.for_camera(_target("BTH-0042")))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cameras.x]\nusername='a'\n", "unknown sections"),
        ("[default]\nuser='a'\n", "unknown keys"),
        ("[default]\nusername=1\n", "expected a string"),
        ("[default\n", "not valid TOML"),
        ("[vendor.a]\nsubstream=['x']\n", "substream"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(CredentialsError, match=message):
        Site.load(path, {})


def test_an_environment_value_without_a_colon_is_refused() -> None:
    with pytest.raises(CredentialsError, match="user:password"):
        Site.load(None, {"*": SecretStr("nopassword")})
