"""`citycam areas boundaries`: GeoJSON checked feature by feature, repaired, simplified, stored for a set."""

import json
import math
from collections.abc import AsyncIterator

import pytest
import shapely
from typer.testing import CliRunner

from citycam.cli import app
from citycam.cli.boundaries import parse_boundaries, vertex_count
from tests.conftest import scratch_database
from tests.helpers import BINH_LOI_TRUNG_BOX, SAIGON_BOX, box_feature


def collection(*features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def test_boxes_parse_into_outlines_with_counter_clockwise_rings() -> None:
    outlines, errors = parse_boundaries(collection(SAIGON_BOX, BINH_LOI_TRUNG_BOX))
    assert errors == []
    assert [o.code for o in outlines] == ["26740", "26905"]
    assert outlines[0].geometry.exterior.is_ccw


def test_a_dense_outline_is_simplified_within_the_tolerance() -> None:
    # A circle of 2,000 vertices around Bến Thành, ~1 km across.
    ring = [[106.698 + 0.005 * math.cos(t / 318.3), 10.772 + 0.005 * math.sin(t / 318.3)] for t in range(2000)]
    feature = {"type": "Feature", "id": "26743", "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}
    (outline,), errors = parse_boundaries(collection(feature), tolerance_m=10)
    assert errors == [] and outline.vertices_in == 2001
    assert vertex_count(outline.geometry) < 200
    original = shapely.Polygon(ring)
    assert outline.geometry.symmetric_difference(original).area / original.area < 0.01


def test_a_self_crossing_outline_is_repaired() -> None:
    bowtie = {
        "type": "Feature",
        "properties": {"code": "26740"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[106.69, 10.77], [106.71, 10.79], [106.71, 10.77], [106.69, 10.79], [106.69, 10.77]]],
        },
    }
    (outline,), errors = parse_boundaries(collection(bowtie))
    assert errors == [] and outline.repaired and outline.geometry.is_valid


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not JSON"),
        (json.dumps({"type": "Feature"}), "FeatureCollection"),
        (collection(), "no features"),
        (collection({"type": "Feature", "properties": {}, "geometry": SAIGON_BOX["geometry"]}), "no area code"),
        (collection({**SAIGON_BOX, "geometry": {"type": "Point", "coordinates": [106.7, 10.7]}}), "Polygon"),
        (collection(box_feature("X", 106.7, 10.7, 206.7, 10.8)), "outside"),
        (collection(SAIGON_BOX, SAIGON_BOX), "appears twice"),
    ],
)
def test_bad_files_are_refused_with_a_reason(text, fragment) -> None:
    _, errors = parse_boundaries(text)
    assert errors and fragment in errors[0]


@pytest.fixture(scope="module")
async def boundaries_url() -> AsyncIterator[str]:
    async with scratch_database("boundaries") as url:
        yield url


def test_the_command_stores_the_outlines_of_a_set_and_refuses_codes_of_another(
    tmp_path, boundaries_url, monkeypatch
) -> None:
    monkeypatch.setattr("citycam.cli.boundaries.ensure_database", lambda: (boundaries_url, False))
    path = tmp_path / "wards.geojson"
    path.write_text(collection(SAIGON_BOX, BINH_LOI_TRUNG_BOX), encoding="utf-8")
    result = CliRunner().invoke(app, ["areas", "boundaries", str(path), "--set", "2025", "--source", "test boxes"])
    assert result.exit_code == 0, result.output
    assert "outlines stored" in result.output
    path.write_text(collection(box_feature("Q1", 106.69, 10.77, 106.71, 10.79)), encoding="utf-8")
    result = CliRunner().invoke(app, ["areas", "boundaries", str(path), "--set", "2025"])
    assert result.exit_code == 1
    assert "not an area of set '2025'" in result.output
