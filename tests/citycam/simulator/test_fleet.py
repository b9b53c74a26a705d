"""The generated fleet: where cameras are, what they are called, which NVR they sit behind."""

import re
from collections import Counter

import pytest

from citycam.simulator.districts import load_districts
from citycam.simulator.fleet import KINDS, MODELS, generate_fleet, split_counts
from citycam.simulator.wards import load_wards
from services.registry.schemas import CameraCreate
from shared.models import CAMERA_KINDS

HCMC_BBOX = (10.25, 106.3, 11.2, 107.1)  # min lat, min lon, max lat, max lon


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    return generate_fleet(5000, seed=3)


def test_every_camera_lies_inside_its_districts_extent(fleet) -> None:  # type: ignore[no-untyped-def]
    districts = {d.code: d for d in load_districts()}
    for camera in fleet.cameras:
        district = districts[camera.district]
        assert district.distance_km(camera.latitude, camera.longitude) <= district.radius_km, camera.code
        assert HCMC_BBOX[0] < camera.latitude < HCMC_BBOX[2]
        assert HCMC_BBOX[1] < camera.longitude < HCMC_BBOX[3]


def test_codes_are_unique_and_named_after_the_district(fleet) -> None:  # type: ignore[no-untyped-def]
    codes = [c.code for c in fleet.cameras]
    assert len(set(codes)) == len(codes)
    for camera in fleet.cameras:
        assert re.fullmatch(rf"{camera.district}-\d{{4,}}", camera.code), camera.code
    gateway_codes = [g.code for g in fleet.gateways]
    assert len(set(gateway_codes)) == len(gateway_codes)


def test_all_22_districts_get_cameras_and_counts_add_up() -> None:
    districts = load_districts()
    assert len(districts) == 22
    counts = split_counts(10_000, districts)
    assert sum(counts.values()) == 10_000
    assert min(counts.values()) >= 1
    # The dense inner districts carry more cameras per square kilometre than the rural ones.
    by_code = {d.code: d for d in districts}
    assert counts["Q1"] / by_code["Q1"].area_km2 > counts["CGI"] / by_code["CGI"].area_km2


def test_about_30_percent_sit_behind_gateways_of_their_own_district(fleet) -> None:  # type: ignore[no-untyped-def]
    behind = [i for g in fleet.gateways for i in g.cameras]
    assert len(behind) == len(set(behind))
    assert 0.27 <= len(behind) / len(fleet.cameras) <= 0.33
    for index, gateway in enumerate(fleet.gateways):
        assert 1 <= len(gateway.cameras) <= 32
        for camera_index in gateway.cameras:
            camera = fleet.cameras[camera_index]
            assert camera.district == gateway.district
            assert camera.gateway == gateway.code
            assert fleet.gateway_of(camera_index) == index


def test_kinds_and_vendors_are_varied(fleet) -> None:  # type: ignore[no-untyped-def]
    kinds = Counter(c.kind for c in fleet.cameras)
    assert set(kinds) == {"fixed", "ptz", "dome", "anpr", "speed", "other"}
    assert kinds["fixed"] > kinds["other"]
    assert len({c.vendor for c in fleet.cameras}) >= 5


def test_same_seed_same_fleet_other_seed_other_places() -> None:
    a, b, c = generate_fleet(300, seed=1), generate_fleet(300, seed=1), generate_fleet(300, seed=2)
    assert [x.api_body() for x in a.cameras] == [x.api_body() for x in b.cameras]
    assert [x.latitude for x in a.cameras] != [x.latitude for x in c.cameras]


def test_every_camera_body_is_valid_for_the_registry(fleet) -> None:  # type: ignore[no-untyped-def]
    gateway_ids = {g.code: "7f1c7b7e-8f53-4d5e-9d7a-0c2d2c3b4a10" for g in fleet.gateways}
    for camera in fleet.cameras[:500]:
        body = camera.api_body(gateway_ids)
        CameraCreate.model_validate(body)
        assert ("gateway_id" in body) == (camera.gateway is not None)


@pytest.fixture(scope="module")
def ward_fleet():  # type: ignore[no-untyped-def]
    return generate_fleet(3000, seed=3, area_set="2025")


def test_a_2025_fleet_puts_cameras_in_every_ward_inside_its_legacy_district(ward_fleet) -> None:  # type: ignore[no-untyped-def]
    wards = {w.place.code: w for w in load_wards()}
    assert {c.ward for c in ward_fleet.cameras} == set(wards) and len(wards) == 168
    for camera in ward_fleet.cameras:
        ward = wards[camera.ward]
        assert camera.district == ward.district.code
        assert ward.district.distance_km(camera.latitude, camera.longitude) <= ward.district.radius_km, camera.code


def test_a_2025_fleet_registers_by_ward_alone(ward_fleet) -> None:  # type: ignore[no-untyped-def]
    for camera in ward_fleet.cameras[:300]:
        body = camera.api_body()
        assert "district" not in body and body["ward"] == camera.ward
        CameraCreate.model_validate(body)
    for gateway in ward_fleet.gateways:
        assert {ward_fleet.cameras[i].ward for i in gateway.cameras} == {gateway.ward}


def test_every_camera_kind_has_a_weight_and_models() -> None:
    # The weights name kinds of their own; a kind added to the schema must get a share of the fleet.
    assert sorted(kind for kind, _ in KINDS) == sorted(CAMERA_KINDS)
    assert sorted(MODELS) == sorted(CAMERA_KINDS)
