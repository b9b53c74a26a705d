"""NGSI-LD export (ngsi.py): every entity checked against the published Smart Data Models schemas, formats too."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import text

from services.registry import ngsi
from shared.models import CameraHealth, CameraState
from tests.helpers import PROBLEM_JSON, bearer

SCHEMAS = Path(__file__).parent / "schemas" / "smart-data-models"
FORMATS = Draft202012Validator.FORMAT_CHECKER


def _validators() -> dict[str, Draft202012Validator]:
    # Each $ref names a schema by its $id: the registry serves the vendored copies, so nothing is fetched.
    documents = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.json")}
    registry: Registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
    )
    return {
        model: Draft202012Validator(documents[f"{model}.schema.json"], registry=registry, format_checker=FORMATS)
        for model in ("Camera", "Device")
    }


VALIDATORS = _validators()


def problems(entity: dict[str, Any]) -> list[str]:
    """What the published schema of the entity's type finds wrong with it."""
    errors = VALIDATORS[entity["type"]].iter_errors(entity)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_the_format_checker_really_checks_date_times() -> None:
    # jsonschema skips a format whose checker library is missing; rfc3339-validator must be installed.
    assert "date-time" in FORMATS.checkers
    bad = {
        "id": "urn:ngsi-ld:Device:x",
        "type": "Device",
        "controlledProperty": ["motion"],
        "dateLastValueReported": "2025-13-45T25:61:00Z",
    }
    assert any("date-time" in p for p in problems(bad))
    assert problems({**bad, "dateLastValueReported": "2025-07-01T08:00:00Z"}) == []


def test_the_format_checker_really_checks_ip_addresses() -> None:
    device = {"id": "urn:ngsi-ld:Device:x", "type": "Device", "controlledProperty": ["motion"]}
    assert problems({**device, "ipAddress": ["10.0.0.300"]})
    assert problems({**device, "ipAddress": ["10.0.0.30", "2001:db8::1"]}) == []


async def test_one_camera_gives_a_camera_and_a_device_entity(registry, admin, create, session) -> None:
    body = await create(
        code="BTH-0042",
        ward="26905",
        ip="10.1.2.3",
        firmware="V5.5.0",
        address="Số 1 Điện Biên Phủ",
        stream_url="rtsp://admin:secret@10.1.2.3/live",
        installed_at="2024-03-01T08:00:00+07:00",
    )
    camera_id = uuid.UUID(body["id"])
    heard = datetime(2025, 7, 1, 1, 2, 3, tzinfo=UTC)
    session.add(CameraState(camera_id=camera_id, received_at=heard, firmware="V5.7.1"))
    session.add(CameraHealth(camera_id=camera_id, status="degraded", reason="late", since=heard))
    await session.commit()

    response = await registry.get("/v1/cameras/BTH-0042?format=ngsi-ld", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    camera, device = response.json()
    assert [problems(camera), problems(device)] == [[], []]
    assert camera["id"] == f"urn:ngsi-ld:Camera:{camera_id}" and camera["cameraName"] == "BTH-0042"
    assert camera["@context"] == device["@context"] == ngsi.CONTEXT
    assert camera["location"] == {"type": "Point", "coordinates": [body["longitude"], body["latitude"]]}
    assert camera["address"]["district"] == "Quận Bình Thạnh"
    assert camera["address"]["streetAddress"] == "Số 1 Điện Biên Phủ"
    assert camera["address"]["addressLocality"].startswith("Phường")
    assert camera["streamURL"] == "rtsp://***@10.1.2.3/live"
    assert camera["cameraType"] == "PTZ" and camera["on"] is True
    assert device["controlledAsset"] == [camera["id"]]
    assert device["deviceState"] == "degraded"
    assert device["dateLastValueReported"] == "2025-07-01T01:02:03Z"
    assert device["ipAddress"] == ["10.1.2.3"]
    assert device["firmwareVersion"] == "V5.7.1"  # as the camera last reported, over the registered V5.5.0
    assert device["dateInstalled"] == "2024-03-01T01:00:00Z"


async def test_a_camera_never_heard_is_unknown_and_a_planned_one_planned(registry, admin, create) -> None:
    await create(code="BTH-1", kind="speed")
    await create(code="BTH-2", lifecycle="planned", kind="other")
    entities = (await registry.get("/v1/cameras/export?format=ngsi-ld", headers=admin)).json()
    devices = {e["alternateName"]: e for e in entities if e["type"] == "Device"}
    assert devices["BTH-1"]["deviceState"] == "unknown" and "dateLastValueReported" not in devices["BTH-1"]
    assert devices["BTH-1"]["controlledProperty"] == ["speed"]
    assert devices["BTH-2"]["deviceState"] == "planned"
    assert all(problems(e) == [] for e in entities)


async def test_the_export_applies_the_list_filters(registry, admin, create) -> None:
    await create(code="BTH-1")
    await create(code="Q1-1", district="Q1")
    response = await registry.get("/v1/cameras/export?format=ngsi-ld&district=Q1", headers=admin)
    assert response.headers["content-type"] == "application/ld+json"
    assert [(e["type"], e.get("cameraName") or e.get("alternateName")) for e in response.json()] == [
        ("Camera", "Q1-1"),
        ("Device", "Q1-1"),
    ]


async def test_an_export_that_matches_nothing_is_an_empty_array(registry, admin) -> None:
    response = await registry.get("/v1/cameras/export?format=ngsi-ld&district=Q1", headers=admin)
    assert response.status_code == 200 and response.json() == []


async def test_an_unknown_format_is_a_422(registry, admin, create) -> None:
    await create(code="BTH-1")
    for path in ("/v1/cameras/export?format=xml", "/v1/cameras/BTH-1?format=xml"):
        response = await registry.get(path, headers=admin)
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM_JSON


async def test_one_cameras_entities_need_a_reader_key_and_a_camera(registry, admin, make_key) -> None:
    assert (await registry.get("/v1/cameras/BTH-1?format=ngsi-ld")).status_code == 401
    monitor = bearer(await make_key("monitor"))
    assert (await registry.get("/v1/cameras/BTH-1?format=ngsi-ld", headers=monitor)).status_code == 403
    assert (await registry.get("/v1/cameras/BTH-1?format=ngsi-ld", headers=admin)).status_code == 404


# Ten thousand cameras in one statement, spread over every kind, some with a ward, an address, an IP and
# firmware, two thirds with a last heartbeat and a verdict: every optional property appears somewhere.
FLEET_SQL = """
WITH fleet AS (
    INSERT INTO camera (id, code, name, latitude, longitude, district, ward, address, kind, ip, firmware,
                        stream_url, stream_credentials_hash, installed_at)
    SELECT gen_random_uuid(), 'NGSI-' || lpad(n::text, 5, '0'), 'Camera ' || n, 10.7 + n * 1e-5, 106.6 + n * 1e-5,
           'BTH', CASE WHEN n % 2 = 0 THEN '26905' END, CASE WHEN n % 3 = 0 THEN 'Số ' || n || ' Đường D2' END,
           (ARRAY['fixed', 'ptz', 'dome', 'anpr', 'speed', 'other'])[1 + n % 6],
           CASE WHEN n % 5 = 0 THEN ('10.9.' || (n / 250) || '.' || (n % 250))::inet END,
           CASE WHEN n % 4 = 0 THEN 'V' || n END, 'rtsp://10.9.0.1/' || n,
           CASE WHEN n % 7 = 0 THEN 'hash' END, CASE WHEN n % 2 = 1 THEN now() - interval '1 year' END
    FROM generate_series(1, :count) n
    RETURNING id, code
), heard AS (
    INSERT INTO camera_state (camera_id, received_at, firmware)
    SELECT id, now(), 'reported' FROM fleet WHERE right(code, 1) IN ('0', '1', '2', '3', '4', '5', '6')
    RETURNING camera_id
)
INSERT INTO camera_health (camera_id, status, reason, since, code, district)
SELECT camera_id, (ARRAY['online', 'degraded', 'offline', 'maintenance'])[1 + abs(hashtext(camera_id::text)) % 4],
       'test', now(), '', 'BTH'
FROM heard
"""


async def test_the_export_of_ten_thousand_cameras_validates_entity_by_entity(registry, admin, session) -> None:
    count = 10_000
    await session.execute(text(FLEET_SQL), {"count": count})
    await session.commit()
    response = await registry.get("/v1/cameras/export?format=ngsi-ld", headers=admin)
    assert response.status_code == 200
    entities = response.json()
    assert len(entities) == 2 * count
    invalid = {e["id"]: found for e in entities if (found := problems(e))}
    assert invalid == {}
    kinds = {e["type"] for e in entities}
    states = {e["deviceState"] for e in entities if e["type"] == "Device"}
    assert kinds == {"Camera", "Device"}
    assert states == {"online", "degraded", "offline", "maintenance", "unknown"}
