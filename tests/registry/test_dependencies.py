"""List and export filters: each one, combined with AND; accent-insensitive q; bbox, near; keyset pages."""

import pytest

from shared.models.camera import search_fold

FLEET = [
    dict(
        code="BTH-0001",
        name="Cầu Sài Gòn",
        district="BTH",
        kind="ptz",
        vendor="Hikvision",
        model="A1",
        latitude=10.7985,
        longitude=106.7240,
        tags=["bridge"],
        owner="Sở GTVT",
        lifecycle="active",
    ),
    dict(
        code="BTH-0002",
        name="Ngã tư Hàng Xanh",
        district="BTH",
        kind="fixed",
        vendor="Dahua",
        model="B2",
        latitude=10.8010,
        longitude=106.7110,
        tags=["junction"],
        owner="Công an",
        lifecycle="maintenance",
        road="Đường Điện Biên Phủ",
    ),
    dict(
        code="Q1-0001",
        name="Bến Thành",
        district="Q1",
        kind="ptz",
        vendor="Hikvision",
        model="B2",
        latitude=10.7721,
        longitude=106.6983,
        tags=["market", "bridge"],
        owner="Sở GTVT",
        lifecycle="active",
        address="Chợ Bến Thành, Lê Lợi",
    ),
    dict(
        code="TDU-0001",
        name="Nút giao Thủ Đức",
        district="TDU",
        kind="anpr",
        vendor="Axis",
        model="C3",
        latitude=10.8500,
        longitude=106.7720,
        tags=[],
        owner="UBND",
        lifecycle="planned",
    ),
]


@pytest.fixture
async def fleet(create) -> list[dict]:
    return [await create(**{k: v for k, v in cam.items() if v is not None}) for cam in FLEET]


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
    ],
)
async def test_free_text_ignores_accents_and_case(registry, admin, fleet, q, expected) -> None:
    assert await _codes(registry, admin, q=q) == expected


async def test_empty_free_text_is_no_filter(registry, admin, fleet) -> None:
    assert len(await _codes(registry, admin, q="  ")) == len(FLEET)


async def test_free_text_combines_with_filters(registry, admin, fleet) -> None:
    assert await _codes(registry, admin, q="ben", district="BTH") == []


def test_fold_maps_d_with_stroke_and_tones() -> None:
    assert search_fold("Đường Điện Biên Phủ, Thủ Đức") == "duong dien bien phu, thu duc"


async def test_bbox_keeps_cameras_inside(registry, admin, fleet) -> None:
    assert await _codes(registry, admin, bbox="106.69,10.77,106.73,10.80") == ["BTH-0001", "Q1-0001"]


async def test_near_with_radius_keeps_cameras_in_the_circle(registry, admin, fleet) -> None:
    # BTH-0002 is about 1.4 km from BTH-0001.
    assert await _codes(registry, admin, near="10.7985,106.7240", radius_m="500") == ["BTH-0001"]
    assert await _codes(registry, admin, near="10.7985,106.7240", radius_m="2000") == ["BTH-0001", "BTH-0002"]


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "106.8,10.7,106.7,10.8"},
        {"bbox": "nan,10,106,11"},
        {"bbox": "0,0,200,10"},
        {"near": "10.8,106.7"},
        {"radius_m": "100"},
        {"near": "10.8", "radius_m": "100"},
        {"near": "91,106", "radius_m": "100"},
        {"near": "10.8,106.7", "radius_m": "-1"},
        {"near": "10.8,106.7", "radius_m": "1e9"},
        {"near": "10.8,106.7", "radius_m": "inf"},
        {"lifecycle": "retired"},
        {"kind": "thermal"},
        {"gateway_id": "not-a-uuid"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"q": "x" * 201},
        {"district": "x" * 33},
    ],
)
async def test_bad_filters_are_422(registry, admin, params) -> None:
    r = await registry.get("/v1/cameras", params=params, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


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
    assert seen == sorted(c["code"] for c in FLEET)


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
