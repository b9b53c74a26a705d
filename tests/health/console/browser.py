"""Real-browser helpers: Debian's Chromium driven by PyPI playwright, a TCP proxy that can drop connections."""

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[3] / ".artifacts"


def chromium_path() -> str:
    """Debian's Chromium (playwright's own browser download cannot work here); `make test` installs it."""
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail("the console tests need Chromium: as root on Debian run `apt-get install -y chromium`")
    return path


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for the block."""
    async with async_playwright() as p:
        # --no-sandbox: the tests run as root in a container, where Chromium's sandbox cannot start.
        browser = await p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watched:
    """A page with every console message, page error and request it made."""

    page: Page
    context: BrowserContext
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


async def open_page(browser: Browser, **context_args: Any) -> Watched:
    """A new context and page at 1920x1080 (the wall), recording errors and requests."""
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, **context_args)
    page = await context.new_page()
    watched = Watched(page, context)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("request", lambda r: watched.requests.append(r.url))
    return watched


class DroppingProxy:
    """A loopback TCP proxy in front of a service: drop() cuts every connection and refuses new ones until
    restore(), so the browser sees a real network drop."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.open = True
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self.writers -= {writer, up_writer}

    def drop(self) -> None:
        """Cut every connection now and refuse new ones."""
        self.open = False
        for w in list(self.writers):
            w.transport.abort()

    def restore(self) -> None:
        """Accept connections again."""
        self.open = True

    async def stop(self) -> None:
        """Close the proxy."""
        self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
