"""`citycam areas load FILE`: parsing, all-or-nothing loading, and cameras in the loaded wards."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from typer.testing import CliRunner

from citycam.cli import app
from citycam.cli.areas import load_areas, parse_areas
from shared.db import plain_url
from tests.conftest import scratch_database

WARDS = (
    "code,name,level,parent\n"
    "HCM,Thành phố Hồ Chí Minh,city,\nW-SAIGON,Phường Sài Gòn,ward,HCM\nBTH-P1,Phường 1,ward,BTH\n"
)


def test_parse_reads_rows_and_ignores_a_bom() -> None:
    areas, errors = parse_areas("\ufeff" + WARDS)
    assert errors == []
    assert [a["code"] for a in areas] == ["HCM", "W-SAIGON", "BTH-P1"]
    assert areas[0]["parent"] is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("code,name\nX,y\n", "missing column"),
        ("code,name,level,parent\nX Y,n,ward,\n", "not a valid area code"),
        ("code,name,level,parent\nX,,ward,\n", "name must be"),
        ("code,name,level,parent\nX,n,province,\n", "level must be"),
        ("code,name,level,parent\nX,n,ward,\nX,n,ward,\n", "appears twice"),
    ],
)
def test_parse_reports_bad_lines(text, fragment) -> None:
    _, errors = parse_areas(text)
    assert errors and fragment in errors[0]


def test_cli_refuses_a_bad_file_before_touching_the_database(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,name,level,parent\nX,n,province,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["areas", "load", str(path)])
    assert result.exit_code == 1


@pytest.fixture(scope="module")
async def areas_url() -> AsyncIterator[str]:
    async with scratch_database("areas") as url:
        yield url


async def test_load_upserts_parents_first(areas_url) -> None:
    areas, _ = parse_areas(WARDS)
    count, errors = await load_areas(areas_url, list(reversed(areas)))
    assert (count, errors) == (3, [])
    again, _ = parse_areas(WARDS.replace("Phường 1", "Phường Một"))
    assert (await load_areas(areas_url, again))[0] == 3
    conn = await asyncpg.connect(plain_url(areas_url))
    try:
        row = await conn.fetchrow("SELECT name, level, parent FROM area WHERE code = 'BTH-P1'")
    finally:
        await conn.close()
    assert tuple(row) == ("Phường Một", "ward", "BTH")


async def test_load_with_an_unknown_parent_writes_nothing(areas_url) -> None:
    areas, _ = parse_areas("code,name,level,parent\nW-NEW,n,ward,NOWHERE\n")
    count, errors = await load_areas(areas_url, areas)
    assert count == 0
    assert "unknown parent" in errors[0]
    conn = await asyncpg.connect(plain_url(areas_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM area WHERE code = 'W-NEW'") == 0
    finally:
        await conn.close()
