"""Property-based fuzzing of each service's OpenAPI schema: whatever is sent, never a 5xx.

Each service runs in this process under a real uvicorn server (in a thread, with its own lifespan)
against a database of its own, so the fuzzed writes never touch the main test database.
"""

import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.db import make_engine, make_sessionmaker
from shared.models import ApiKey
from shared.settings import get_database_settings
from shared.tokens import hash_secret
from tests.conftest import scratch_database
from tests.helpers import bearer, free_port

FUZZ_ADMIN_KEY = "cck_fuzz-admin-key-for-tests-only-0123456789abcdef"
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
async def fuzz_database_url() -> AsyncIterator[str]:
    async with scratch_database("fuzz") as url:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            session.add(
                ApiKey(name="fuzz", role="admin", prefix=FUZZ_ADMIN_KEY[:12], key_hash=hash_secret(FUZZ_ADMIN_KEY))
            )
            await session.commit()
        await engine.dispose()
        yield url


@pytest.fixture(params=["registry", "ingest", "health"])
def served(request, fuzz_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", fuzz_database_url)
    get_database_settings.cache_clear()
    module = __import__(f"services.{request.param}.main", fromlist=["app"])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(module.app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        get_database_settings.cache_clear()


def test_no_operation_answers_5xx(served: str) -> None:
    schema = schemathesis.openapi.from_url(served + "/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), authorised=st.booleans())
        def fuzz(case, authorised: bool) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=served, headers=bearer(FUZZ_ADMIN_KEY) if authorised else None)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
            elif response.status_code >= 400:
                content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])[0]
                assert content_type.startswith("application/problem+json"), (
                    f"{case.method} {case.formatted_path} -> {response.status_code} is not problem+json"
                )

        fuzz()
    assert not failures, "\n".join(failures[:10])
