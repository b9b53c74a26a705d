"""`citycam areas load FILE`: parsing, all-or-nothing loading, and cameras in the loaded wards."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from typer.testing import CliRunner

from citycam.cli import app
from citycam.cli.areas import Loaded, load_areas, parse_areas
from citycam.simulator.wards import WARDS_CSV as WARDS_2025
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
        ("code,name,level,parent\nX,n,state,\n", "level must be"),
        ("code,name,level,parent\nX,n,ward,\nX,n,ward,\n", "appears twice"),
    ],
)
def test_parse_reports_bad_lines(text, fragment) -> None:
    _, errors = parse_areas(text)
    assert errors and fragment in errors[0]


def test_cli_refuses_a_bad_file_before_touching_the_database(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,name,level,parent\nX,n,state,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["areas", "load", str(path)])
    assert result.exit_code == 1


@pytest.fixture(scope="module")
async def areas_url() -> AsyncIterator[str]:
    async with scratch_database("areas") as url:
        yield url


async def test_load_upserts_parents_first(areas_url) -> None:
    areas, _ = parse_areas(WARDS)
    loaded, errors = await load_areas(areas_url, list(reversed(areas)))
    # HCM is there from the first migration, exactly as the file has it.
    assert (loaded, errors) == (Loaded(created=2, unchanged=1), [])
    again, _ = parse_areas(WARDS.replace("Phường 1", "Phường Một"))
    assert (await load_areas(areas_url, again))[0] == Loaded(updated=1, unchanged=2)
    conn = await asyncpg.connect(plain_url(areas_url))
    try:
        row = await conn.fetchrow("SELECT name, level, parent FROM area WHERE code = 'BTH-P1'")
    finally:
        await conn.close()
    assert tuple(row) == ("Phường Một", "ward", "BTH")


async def test_load_with_an_unknown_parent_writes_nothing(areas_url) -> None:
    areas, _ = parse_areas("code,name,level,parent\nW-NEW,n,ward,NOWHERE\n")
    loaded, errors = await load_areas(areas_url, areas)
    assert loaded == Loaded()
    assert "unknown parent" in errors[0]
    conn = await asyncpg.connect(plain_url(areas_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM area WHERE code = 'W-NEW'") == 0
    finally:
        await conn.close()


async def test_a_set_is_given_to_the_rows_and_kept_by_a_load_without_one(areas_url) -> None:
    areas, _ = parse_areas("code,name,level,parent,former_district\nX-1,Phường X,ward,HCM,Q1\n")
    assert (await load_areas(areas_url, areas, area_set="test-set"))[0] == Loaded(created=1)
    assert (await load_areas(areas_url, areas))[0] == Loaded(unchanged=1)
    conn = await asyncpg.connect(plain_url(areas_url))
    try:
        row = await conn.fetchrow("SELECT area_set, former_district FROM area WHERE code = 'X-1'")
    finally:
        await conn.close()
    assert tuple(row) == ("test-set", "Q1")


def test_the_shipped_2025_file_parses_without_errors() -> None:
    areas, errors = parse_areas(WARDS_2025.read_text(encoding="utf-8"))
    assert errors == [] and len(areas) == 168


def test_the_cli_prints_a_summary_of_created_updated_and_unchanged(tmp_path, areas_url, monkeypatch) -> None:
    path = tmp_path / "w.csv"
    path.write_text("code,name,level,parent\nY-1,Phường Y,ward,HCM\n", encoding="utf-8")
    monkeypatch.setattr("citycam.cli.areas.ensure_database", lambda: (areas_url, False))
    result = CliRunner().invoke(app, ["areas", "load", str(path), "--set", "test-set"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "unchanged" in result.output
