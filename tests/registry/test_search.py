"""Finding cameras (search.py): each filter, combined with AND; accent-insensitive q; bbox, near; keyset pages."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from services.registry import search
from shared.models import Camera
from shared.models.camera import search_fold


async def _codes(registry, admin, **params) -> list[str]:
    r = await registry.get("/v1/cameras", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return [c["code"] for c in r.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"district": "BTH"}, ["BTH-0001", "BTH-0002"]),
        ({"lifecycle": "maintenance"}, ["BTH-0002"]),
        ({"kind": "ptz"}, ["BTH-0001", "Q1-0001"]),
        ({"vendor": "Hikvision"}, ["BTH-0001", "Q1-0001"]),
        ({"model": "B2"}, ["BTH-0002", "Q1-0001"]),
        ({"tag": "bridge"}, ["BTH-0001", "Q1-0001"]),
        ({"owner": "Sở GTVT"}, ["BTH-0001", "Q1-0001"]),
        ({"district": "BTH", "kind": "ptz"}, ["BTH-0001"]),
        ({"vendor": "Hikvision", "model": "B2", "tag": "bridge"}, ["Q1-0001"]),
        ({"district": "Q1", "lifecycle": "planned"}, []),
    ],
)
async def test_filters_combine_with_and(registry, admin, fleet, params, expected) -> None:
    assert await _codes(registry, admin, **params) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cau sai gon", ["BTH-0001"]),
        ("CẦU SÀI GÒN", ["BTH-0001"]),
        ("sai gon cau", ["BTH-0001"]),
        ("duong", ["BTH-0002"]),
        ("dien bien phu", ["BTH-0002"]),
        ("ben thanh", ["Q1-0001"]),
        ("le loi", ["Q1-0001"]),
        ("thu duc", ["TDU-0001"]),
        ("tdu-0001", ["TDU-0001"]),
        ("nowhere", []),
        ("nga tu", ["BTH-0002"]),
        ("tu", ["BTH-0002"]),
        ("q1", ["Q1-0001"]),
        ("100%", []),
        ("_", []),
        ("bth 0002", ["BTH-0002"]),
        ("chợ bến thành, lê lợi", ["Q1-0001"]),
        ("(le) loi!", ["Q1-0001"]),
        ("thu duc nut giao", ["TDU-0001"]),
        ("00", []),
    ],
)
async def test_free_text_ignores_accents_and_case(registry, admin, fleet, q, expected) -> None:
    assert await _codes(registry, admin, q=q) == expected


async def test_empty_free_text_is_no_filter(registry, admin, fleet) -> None:
    assert len(await _codes(registry, admin, q="  ")) == len(fleet)


async def test_free_text_combines_with_filters(registry, admin, fleet) -> None:
    assert await _codes(registry, admin, q="ben", district="BTH") == []


def test_fold_maps_d_with_stroke_and_tones() -> None:
    assert search_fold("Đường Điện Biên Phủ, Thủ Đức") == "duong dien bien phu  thu duc"


async def test_a_short_word_matches_a_whole_word_only(registry, admin, create) -> None:
    for code, name in [("Q1-0001", "Vòng xoay Âu Cơ"), ("Q10-0001", "Vòng xoay Lê Lợi"), ("Q7-0001", "Cổng Q1")]:
        await create(code=code, name=name, district=code.split("-")[0])
    assert await _codes(registry, admin, q="q1") == ["Q1-0001", "Q7-0001"]
    assert await _codes(registry, admin, q="vong xoay au co") == ["Q1-0001"]
    assert await _codes(registry, admin, q="co vong") == ["Q1-0001"]


async def test_every_search_word_can_use_the_trigram_index(session) -> None:
    # A bare "%q1%" has no trigram, so GIN cannot serve it; a framed whole word "% q1 %" can.
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    for condition in search.search_conditions("vong xoay au co q1"):
        compiled = (
            select(Camera.id)
            .where(condition)
            .compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        plan = "\n".join((await session.execute(text(f"EXPLAIN {compiled}"))).scalars())
        assert "ix_camera_search_text" in plan and "Index Cond" in plan, plan


@pytest.fixture
def short_walk(monkeypatch) -> None:
    """A search walks 3 cameras before it turns to the trigram index, so small fleets reach both paths."""
    monkeypatch.setattr(search, "SEARCH_WALK_MIN", 3)
    monkeypatch.setattr(search, "SEARCH_WALK_PER_ROW", 1)


async def _register_road(create, roads: list[str]) -> None:
    for number, road in enumerate(roads, start=1):
        await create(code=f"Q1-{number:04d}", name=f"Camera {number}", district="Q1", road=road)


async def test_a_search_finds_matches_beyond_the_walked_cameras(registry, admin, create, short_walk) -> None:
    await _register_road(create, ["Lê Lợi", "Lê Lợi", "Lê Lợi", "Lê Lợi", "Hàm Nghi"])
    assert await _codes(registry, admin, q="ham nghi", limit="1") == ["Q1-0005"]


async def test_a_search_filled_by_the_walk_keeps_code_order(registry, admin, create, short_walk) -> None:
    await _register_road(create, ["Hàm Nghi", "Hàm Nghi", "Lê Lợi", "Hàm Nghi"])
    assert await _codes(registry, admin, q="ham nghi", limit="2") == ["Q1-0001", "Q1-0002"]


async def test_search_pages_cover_every_match_once(registry, admin, create, short_walk) -> None:
    # Matches both inside and beyond each page's walk: every page must pick up exactly where the last ended.
    roads = ["Hàm Nghi", "Lê Lợi", "Hàm Nghi", "Hàm Nghi", "Lê Lợi", "Lê Lợi", "Lê Lợi", "Hàm Nghi", "Hàm Nghi"]
    await _register_road(create, roads)
    seen: list[str] = []
    cursor = None
    for _ in roads:  # bounded: a cursor that never advanced must fail the test, not hang it
        params = {"q": "ham nghi", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        r = await registry.get("/v1/cameras", params=params, headers=admin)
        seen += [c["code"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Q1-{n:04d}" for n, road in enumerate(roads, start=1) if road == "Hàm Nghi"]


async def test_a_search_combines_with_filters_beyond_the_walk(registry, admin, create, short_walk) -> None:
    await _register_road(create, ["Lê Lợi", "Lê Lợi", "Lê Lợi", "Lê Lợi", "Hàm Nghi"])
    await create(code="TDU-0001", name="Hàm Nghi", district="TDU")
    assert await _codes(registry, admin, q="ham nghi", district="Q1", limit="1") == ["Q1-0005"]


async def test_a_search_leaves_the_planner_as_it_found_it(session, short_walk) -> None:
    await search.camera_page(session, filters=search.CameraFilters(q="nowhere"), limit=5, after=None)
    assert await session.scalar(text("SHOW enable_indexscan")) == "on"


async def test_the_search_index_has_no_pending_list(session) -> None:
    # A pending list is read in full by every search until a vacuum merges it (migration 0005).
    options = await session.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'ix_camera_search_text'"))
    assert options == ["fastupdate=off"]


async def test_bbox_keeps_cameras_inside(registry, admin, fleet) -> None:
    assert await _codes(registry, admin, bbox="106.69,10.77,106.73,10.80") == ["BTH-0001", "Q1-0001"]


async def test_near_with_radius_keeps_cameras_in_the_circle(registry, admin, fleet) -> None:
    # BTH-0002 is about 1.4 km from BTH-0001.
    assert await _codes(registry, admin, near="10.7985,106.7240", radius_m="500") == ["BTH-0001"]
    assert await _codes(registry, admin, near="10.7985,106.7240", radius_m="2000") == ["BTH-0001", "BTH-0002"]


async def test_pages_follow_code_order_without_gaps_or_repeats(registry, admin, fleet) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        body = (await registry.get("/v1/cameras", params=params, headers=admin)).json()
        seen += [c["code"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(c["code"] for c in fleet)


async def test_a_page_cursor_keeps_its_filters_meaning(registry, admin, fleet) -> None:
    first = (await registry.get("/v1/cameras", params={"district": "BTH", "limit": "1"}, headers=admin)).json()
    second = (
        await registry.get(
            "/v1/cameras", params={"district": "BTH", "limit": "1", "cursor": first["next_cursor"]}, headers=admin
        )
    ).json()
    assert [c["code"] for c in first["items"] + second["items"]] == ["BTH-0001", "BTH-0002"]


@pytest.mark.parametrize("cursor", ["garbage!!", "e30", "eyJjb2RlIjoxfQ", "W10", "x" * 513])
async def test_garbage_cursor_is_400_or_422(registry, admin, cursor) -> None:
    r = await registry.get("/v1/cameras", params={"cursor": cursor}, headers=admin)
    assert r.status_code in (400, 422)
    assert r.headers["content-type"] == "application/problem+json"


async def test_list_never_returns_stream_credentials(registry, admin, create) -> None:
    await create(stream_url="rtsp://admin:hunter2canary@10.1.1.1/live")
    r = await registry.get("/v1/cameras", headers=admin)
    assert "hunter2canary" not in r.text
    assert r.json()["items"][0]["stream_url"] == "rtsp://***@10.1.1.1/live"
