"""The console in a real browser against `citycam up` (real uvicorn processes on free ports)."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.conftest import UpStack, citycam_up, scratch_database
from tests.health.console.browser import AXE, DroppingProxy, Watched, chromium, open_page
from tests.helpers import bearer, camera

pytestmark = pytest.mark.e2e

ADMIN_KEY = "cck_console-admin-key-for-tests-only-0123456789"
# Offline one interval (5 s) after the last heartbeat; three cameras together make an incident; the
# stale-ingest guard off, since these cameras send one heartbeat each on purpose.
STACK_ENV = {
    "CITYCAM_HEALTH_OFFLINE_FACTOR": "1.0",
    "CITYCAM_HEALTH_GRACE_S": "1",
    "CITYCAM_HEALTH_INCIDENT_MIN_CAMERAS": "3",
    "CITYCAM_HEALTH_STALE_MIN_CAMERAS": "1000000",
    "CITYCAM_HEALTH_SSE_KEEPALIVE_S": "2",
}


@pytest.fixture(scope="module")
async def wall_database() -> AsyncIterator[str]:
    async with scratch_database("console", migrated=False) as url:
        yield url


@pytest.fixture(scope="module")
def stack(wall_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    with citycam_up(wall_database, tmp_path_factory, admin_key=ADMIN_KEY, **STACK_ENV) as up:
        yield up


def _key(stack: UpStack, role: str, districts: list[str] | None = None) -> dict[str, Any]:
    body = {"name": f"wall-{role}-{'-'.join(districts or ['all'])}", "role": role, "districts": districts}
    r = httpx.post(stack.urls["registry"] + "/v1/api-keys", json=body, headers=bearer(ADMIN_KEY))
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def operator(stack: UpStack) -> dict[str, Any]:
    return _key(stack, "operator")


@pytest.fixture(scope="module")
def monitor(stack: UpStack) -> dict[str, Any]:
    return _key(stack, "monitor")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def _call(method: str, url: str, key: str = ADMIN_KEY, **kwargs: Any) -> httpx.Response:
    # Async: a blocking call would stall the browser driver and the proxy, which share this event loop.
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(method, url, headers=bearer(key), **kwargs)


async def _register(stack: UpStack, code: str, district: str) -> tuple[str, str]:
    body = camera(code=code, district=district, heartbeat_interval_s=5)
    r = await _call("POST", stack.urls["registry"] + "/v1/cameras", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["device_token"]


async def _heartbeat(stack: UpStack, token: str) -> None:
    r = await _call("POST", stack.urls["ingest"] + "/v1/heartbeats", token, json={"fps": 25})
    assert r.status_code == 202, r.text


async def _until(check, timeout: float = 30.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


async def _status(stack: UpStack, camera_id: str) -> str:
    r = await _call("GET", stack.urls["health"] + f"/v1/health/cameras/{camera_id}")
    return str(r.json()["status"]) if r.status_code == 200 else "missing"


async def _is(stack: UpStack, camera_id: str, status: str) -> bool:
    return await _status(stack, camera_id) == status


async def _online(stack: UpStack, *cameras: tuple[str, str]) -> None:
    for _, token in cameras:
        await _heartbeat(stack, token)

    async def all_online() -> bool:
        return all([await _is(stack, cid, "online") for cid, _ in cameras])

    await _until(all_online)


async def _sign_in(browser: Browser, base: str, key: str) -> Watched:
    watched = await open_page(browser)
    page = watched.page
    await page.goto(base + "/console")
    await page.fill("#api-key", key)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("body[data-ready='1']", timeout=15000)
    return watched


async def _count(page: Page, status: str) -> int:
    return int(await page.locator(f"#counts [data-status='{status}'] b").inner_text())


def _outside(watched: Watched, base: str) -> list[str]:
    origin = urlsplit(base).netloc
    return [u for u in watched.requests if not u.startswith("data:") and urlsplit(u).netloc != origin]


async def test_the_key_stays_out_of_the_url_storage_and_script_reach(stack, operator, browser) -> None:
    w = await _sign_in(browser, stack.urls["health"], operator["key"])
    page = w.page
    assert operator["key"] not in page.url
    stored = await page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert operator["key"] not in stored and stored == "[[],[]]"
    # HttpOnly: the session cookie is invisible to the page's scripts.
    assert await page.evaluate("document.cookie") == ""
    assert await page.input_value("#api-key") == ""
    assert all(operator["key"] not in u for u in w.requests)
    await w.context.close()


async def test_a_stopped_heartbeat_shows_offline_within_3_s(stack, operator, browser) -> None:
    cam = await _register(stack, "BTH-W001", "BTH")
    await _online(stack, cam)
    w = await _sign_in(browser, stack.urls["health"], operator["key"])
    page = w.page
    before = await _count(page, "offline")
    glyph = page.locator(f"#map use[data-id='{cam[0]}']")
    assert await glyph.get_attribute("data-status") == "online"
    # No more heartbeats: offline one interval later. The page must show it within 3 s of the API.
    await _until(lambda: _is(stack, cam[0], "offline"), timeout=30, every=0.1)
    shown_by = time.monotonic() + 3
    await page.wait_for_function(
        """([id, before]) => document.querySelector(`#map use[data-id='${id}']`).dataset.status === 'offline'
            && Number(document.querySelector("#counts [data-status='offline'] b").textContent) === before + 1
            && Number(document.querySelector("#areas tr[data-area='BTH'] td.off").textContent) >= 1""",
        arg=[cam[0], before],
        timeout=3000,
    )
    assert time.monotonic() <= shown_by
    assert "BTH-W001" in await page.locator("#offline").inner_text()
    assert w.errors == []
    await w.context.close()


@pytest.fixture(scope="module")
async def incident(stack) -> int:
    cams = [await _register(stack, f"Q3-W00{i}", "Q3") for i in range(1, 4)]
    await _online(stack, *cams)

    async def opened() -> int | None:
        r = await _call("GET", stack.urls["health"] + "/v1/health/incidents?state=open")
        found = [i["id"] for i in r.json()["items"] if i["district"] == "Q3"]
        return found[0] if found else None

    return await _until(opened, timeout=40)


async def test_an_ack_from_the_page_shows_on_the_incident_in_the_api(stack, operator, browser, incident) -> None:
    w = await _sign_in(browser, stack.urls["health"], operator["key"])
    button = w.page.locator(f"#incidents [data-incident-id='{incident}'] button.ack")
    await button.click()

    async def acked() -> dict[str, Any] | None:
        got = (await _call("GET", stack.urls["health"] + f"/v1/health/incidents/{incident}")).json()
        return got if got["acked_at"] else None

    got = await _until(acked, timeout=5)
    assert got["acked_by"] == operator["name"]
    await w.page.wait_for_selector(f"#incidents [data-incident-id='{incident}'].acked")
    assert w.errors == []
    await w.context.close()


async def test_a_monitor_sees_the_incident_and_cannot_ack(stack, monitor, browser, incident) -> None:
    w = await _sign_in(browser, stack.urls["health"], monitor["key"])
    page = w.page
    await page.wait_for_selector(f"#incidents [data-incident-id='{incident}']")
    assert await page.locator("#incidents button.ack").count() == 0
    # Nor through the API with the page's own session and CSRF token.
    status = await page.evaluate(
        """async (id) => {
            const s = await (await fetch('/v1/console/session')).json();
            const headers = {'X-CSRF-Token': s.csrf_token};
            const r = await fetch(`/v1/health/incidents/${id}/ack`, {method: 'POST', headers});
            return r.status;
        }""",
        incident,
    )
    assert status == 403
    await w.context.close()


async def test_a_dropped_stream_shows_stale_then_recovers_without_duplicates(stack, operator, browser) -> None:
    proxy = DroppingProxy(int(urlsplit(stack.urls["health"]).port or 0))
    await proxy.start()
    try:
        cam = await _register(stack, "BTH-W002", "BTH")
        await _online(stack, cam)
        w = await _sign_in(browser, f"http://127.0.0.1:{proxy.port}", operator["key"])
        page = w.page
        await page.wait_for_selector("#live[data-live='1']")
        proxy.drop()
        await page.wait_for_selector("#stale:not([hidden])", timeout=5000)
        assert await page.evaluate("document.body.classList.contains('is-stale')")
        # The camera goes offline while the page is cut off.
        await _until(lambda: _is(stack, cam[0], "offline"), timeout=30, every=0.2)
        proxy.restore()
        await page.wait_for_selector("#live[data-live='1']", timeout=15000)
        await page.wait_for_function(
            "id => document.querySelector(`#map use[data-id='${id}']`).dataset.status === 'offline'",
            arg=cam[0],
            timeout=5000,
        )
        codes = await page.locator("#offline b").all_inner_texts()
        assert len(codes) == len(set(codes)) and "BTH-W002" in codes
        summary = (await _call("GET", stack.urls["health"] + "/v1/health/summary")).json()
        assert await _count(page, "offline") == summary["by_status"]["offline"]
        assert await page.locator("#stale").is_hidden()
        await w.context.close()
    finally:
        await proxy.stop()


async def test_axe_finds_no_serious_or_critical_violation(stack, operator, browser, incident) -> None:
    w = await _sign_in(browser, stack.urls["health"], operator["key"])
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') still holds for the page.
    await w.page.evaluate(AXE.read_text())
    result = await w.page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    violations = result["violations"]
    bad = [(v["id"], v["impact"], len(v["nodes"])) for v in violations if v["impact"] in {"serious", "critical"}]
    assert bad == []
    await w.context.close()


async def test_every_status_glyph_has_an_accessible_name(stack, operator, browser) -> None:
    w = await _sign_in(browser, stack.urls["health"], operator["key"])
    page = w.page
    unnamed = await page.evaluate(
        "[...document.querySelectorAll('#map use')].filter(u => !u.getAttribute('aria-label')).length"
    )
    assert unnamed == 0 and await page.locator("#map use").count() > 0
    # Elsewhere a glyph is decoration beside its text label, which names the status.
    for item in await page.locator("#counts [data-status]").all():
        assert await item.locator(".glyph[aria-hidden='true']").count() == 1
        assert (await item.locator(".k").inner_text()).strip()
    await w.context.close()


async def test_the_wall_logs_no_error_and_asks_nothing_outside_the_app(stack, operator, browser) -> None:
    w = await _sign_in(browser, stack.urls["health"], operator["key"])
    await w.page.locator("#offline button.cam").first.click()
    await w.page.wait_for_selector("#detail[open] .strip")
    await w.page.keyboard.press("Escape")
    await w.page.click("#lang")
    assert await w.page.locator("html[lang='en']").count() == 1
    assert w.errors == []
    assert _outside(w, stack.urls["health"]) == []
    await w.context.close()


@pytest.mark.parametrize("service", ["registry", "ingest", "health"])
async def test_docs_render_with_no_outside_request(stack, browser, service: str) -> None:
    w = await open_page(browser)
    await w.page.goto(stack.urls[service] + "/docs")
    await w.page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert _outside(w, stack.urls[service]) == []
    assert w.errors == []
    await w.context.close()
