"""The one status table: every status of the schema, distinct colours, shapes and glyphs, both languages."""

from services.health.console.statuses import STATUS_TABLE, status_table
from shared.models import STATUSES
from tests.helpers import bearer

# Okabe & Ito (2008), "Color Universal Design": the eight colours told apart with any colour vision.
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def test_the_table_covers_every_status_once() -> None:
    assert sorted(row[0] for row in STATUS_TABLE) == sorted(STATUSES)


def test_colours_are_okabe_ito_and_colour_is_never_alone() -> None:
    rows = status_table()
    assert {r["colour"] for r in rows} <= OKABE_ITO
    for key in ("colour", "shape", "glyph"):
        assert len({r[key] for r in rows}) == len(rows), key
    assert all(r["label"]["vi"] and r["label"]["en"] for r in rows)


async def test_the_api_serves_the_table(health, make_key) -> None:
    r = await health.get("/v1/health/statuses", headers=bearer(await make_key("monitor")))
    assert r.status_code == 200 and r.json() == status_table()
