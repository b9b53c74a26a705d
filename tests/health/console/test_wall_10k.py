"""The wall with 10,000 cameras (the bench fleet: 10% offline, 5% degraded), saved as a screenshot artifact."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bench.load import load
from shared.db import plain_url
from tests.conftest import UpStack, citycam_up, scratch_database
from tests.health.console.browser import ARTIFACTS, chromium, open_page
from tests.helpers import bearer

pytestmark = pytest.mark.e2e

CAMERAS = 10_000
SCREENSHOT = ARTIFACTS / "console-wall-10k.png"


@pytest.fixture(scope="module")
async def fleet_database() -> AsyncIterator[tuple[str, str]]:
    async with scratch_database("console10k") as url:
        loaded = await load(plain_url(url), CAMERAS)
        yield url, loaded.admin_key


@pytest.fixture(scope="module")
def stack(fleet_database: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    # The loader wrote its own admin key, so `citycam up` creates none.
    # The fleet sends no heartbeats here: without the stale-ingest guard off, the wall would (rightly) say so.
    env = {"CITYCAM_HEALTH_STALE_MIN_CAMERAS": "1000000"}
    with citycam_up(fleet_database[0], tmp_path_factory, admin_key=fleet_database[1], **env) as up:
        yield up


async def test_the_wall_draws_10000_cameras_and_is_saved_as_a_screenshot(stack, fleet_database) -> None:
    key = fleet_database[1]
    async with httpx.AsyncClient(base_url=stack.urls["health"], headers=bearer(key), timeout=10) as api:
        deadline = time.monotonic() + 60
        while True:
            summary = (await api.get("/v1/health/summary")).json()
            if summary["total"] == CAMERAS and summary["by_status"]["unknown"] == 0:
                break
            assert time.monotonic() < deadline, summary
            await asyncio.sleep(0.5)
    async with chromium() as browser:
        w = await open_page(browser)
        await w.page.goto(stack.urls["health"] + "/console")
        await w.page.fill("#api-key", key)
        await w.page.click("#signin-form button[type=submit]")
        await w.page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert await w.page.locator("#map use").count() == CAMERAS
        assert (
            int(await w.page.locator("#counts [data-status='offline'] b").inner_text())
            == (summary["by_status"]["offline"])
        )
        ARTIFACTS.mkdir(exist_ok=True)
        await w.page.screenshot(path=str(SCREENSHOT))
        # One screen, no scrolling.
        scroll = await w.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        assert scroll == [1920, 1080]
        assert w.errors == []
        await w.context.close()
    assert SCREENSHOT.stat().st_size > 10_000
