"""GET /v1/cameras/export (export.py): the list filters as CSV, which the import takes back unchanged."""

from sqlalchemy import select

from shared.models import Camera
from tests.helpers import bearer
from tests.registry.files import post_import


async def test_export_then_import_of_the_same_file_changes_nothing(registry, admin, create, session) -> None:
    await create(code="BTH-1", stream_url="rtsp://admin:pw@10.0.0.1/live", address='Số 1, "Cầu"\nPhường 2')
    await create(code="BTH-2", tags=[], ip="10.0.0.2", installed_at="2024-03-01T08:00:00+07:00")
    before = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    exported = await registry.get("/v1/cameras/export", headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    result = (await post_import(registry, admin, exported.content)).json()
    assert result == {
        "dry_run": False,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "rejected": [],
        "flagged": [],
        "device_tokens": None,
    }
    after = await session.scalar(select(Camera.stream_credentials_hash).where(Camera.code == "BTH-1"))
    assert after == before is not None


async def test_export_applies_the_list_filters(registry, admin, create) -> None:
    await create(code="BTH-1")
    await create(code="Q1-1", district="Q1")
    text = (await registry.get("/v1/cameras/export?district=Q1", headers=admin)).text
    lines = text.strip().split("\n")
    assert len(lines) == 2
    assert lines[1].split(",")[1] == "Q1-1"


async def test_export_needs_a_reader_key(registry, make_key) -> None:
    assert (await registry.get("/v1/cameras/export")).status_code == 401
    r = await registry.get("/v1/cameras/export", headers=bearer(await make_key("monitor")))
    assert r.status_code == 403
