"""/docs and /redoc load nothing from outside the app (the browser check is tests/console)."""

import re

import httpx
import pytest

SERVICES = ["registry", "ingest", "health"]
# src= and href= in the page, and the url/openapi_url given to the scripts.
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)["']?\s*[:=]\s*["']([^"']+)["']""")


@pytest.fixture(params=SERVICES)
def service(request, registry, ingest, health) -> httpx.AsyncClient:
    return {"registry": registry, "ingest": ingest, "health": health}[request.param]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_references_only_the_app(service, page: str) -> None:
    r = await service.get(page)
    assert r.status_code == 200
    refs = [a or b for a, b in REFERENCE.findall(r.text)]
    assert refs, "the page references its assets"
    assert [ref for ref in refs if not ref.startswith("/")] == []
    assert "cdn." not in r.text and "fonts.googleapis" not in r.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_assets_are_served_by_the_app(service, page: str) -> None:
    r = await service.get(page)
    assets = [a for a, _ in REFERENCE.findall(r.text) if a.startswith("/docs/assets/")]
    assert assets
    for asset in assets:
        got = await service.get(asset)
        assert got.status_code == 200 and len(got.content) > 0, asset


async def test_swagger_ui_sends_the_schema_to_no_validator(health) -> None:
    r = await health.get("/docs")
    assert '"validatorUrl": null' in r.text
