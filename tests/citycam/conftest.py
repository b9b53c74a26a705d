"""A real registry server on loopback for the tools' tests: its own database, real commits."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from citycam.cli import app as cli
from services.registry.router import router
from shared.app import create_app
from shared.db import get_session, make_engine, make_sessionmaker
from shared.models import ApiKey
from shared.tokens import issue_api_key
from tests.conftest import bind_app, scratch_database
from tests.helpers import free_port


@dataclass
class Registry:
    url: str
    key: str

    async def run(self, *args: str) -> Result:
        """The CLI with this registry and key, in a thread (the server answers on the test's loop)."""
        argv = [*args, "--registry-url", self.url, "--api-key", self.key]
        return await asyncio.to_thread(CliRunner().invoke, cli, argv)


@pytest.fixture(scope="module")
async def registry_server() -> AsyncIterator[Registry]:
    async with scratch_database("tools_registry") as url:
        engine = make_engine(url)
        sessionmaker = make_sessionmaker(engine)
        app = create_app(service="registry", title="registry (tools test)", description="", routers=[router])
        bind_app(app, engine, sessionmaker)
        app.dependency_overrides.pop(get_session)  # real per-request sessions that commit
        issued = issue_api_key()
        async with sessionmaker() as session:
            session.add(ApiKey(name="cli-admin", role="admin", prefix=issued.prefix, key_hash=issued.hash))
            await session.commit()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            yield Registry(f"http://127.0.0.1:{port}", issued.secret)
        finally:
            server.should_exit = True
            await task
            await engine.dispose()
