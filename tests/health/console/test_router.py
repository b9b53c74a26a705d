"""The console page and its files: served by the app, locked down by CSP, light."""

from sqlalchemy import text

from services.health.console.router import ASSETS, STATIC
from tests.health.conftest import add_camera
from tests.helpers import bearer

LIMIT_BYTES = 300 * 1024


async def test_the_page_is_html_with_a_strict_content_security_policy(health) -> None:
    r = await health.get("/console")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe" not in csp


async def test_every_file_the_page_names_is_served(health) -> None:
    for name in ASSETS:
        r = await health.get(f"/console/assets/{name}")
        assert r.status_code == 200 and r.content, name


async def test_nothing_beside_the_assets_is_served(health) -> None:
    for name in ("index.html", "..%2Frouter.py", "router.py", "nope.js"):
        assert (await health.get(f"/console/assets/{name}")).status_code == 404, name


def test_the_page_weighs_at_most_300_kb() -> None:
    weight = sum(p.stat().st_size for p in STATIC.iterdir() if p.is_file())
    assert weight <= LIMIT_BYTES


async def test_device_fields_never_show_stream_credentials(health, make_key, session) -> None:
    await add_camera(session, "Q1-DEV", stream_url="rtsp://10.0.0.5:554/main", ip="10.0.0.5")
    await session.execute(text("UPDATE camera SET stream_credentials_hash = 'x' WHERE code = 'Q1-DEV'"))
    await session.commit()
    r = await health.get("/v1/health/cameras/Q1-DEV/device", headers=bearer(await make_key("monitor")))
    assert r.status_code == 200
    body = r.json()
    assert body["stream_url"] == "rtsp://10.0.0.5:554/main" and body["stream_credentials"] is True
    assert body["ip"] == "10.0.0.5"


async def test_device_of_an_unknown_camera_is_404(health, make_key) -> None:
    r = await health.get("/v1/health/cameras/NOPE/device", headers=bearer(await make_key("monitor")))
    assert r.status_code == 404
