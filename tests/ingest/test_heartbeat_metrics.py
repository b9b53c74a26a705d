"""The heartbeat metrics are defined once (shared.models.HeartbeatMetrics): every list made from it
agrees, and a heartbeat carrying every metric comes back from both tables unchanged."""

import msgspec
from sqlalchemy import ARRAY, BigInteger, Float, String

from bench.load import HEALTHY_METRICS, STATE_COLUMNS, TROUBLED_METRICS
from services.ingest.schemas import BatchHeartbeatIn, HeartbeatIn
from services.ingest.service import HeartbeatRow, heartbeat_row, upsert_statement
from shared.models import HEARTBEAT_METRIC_TYPES, HEARTBEAT_METRICS, CameraState, Heartbeat, HeartbeatMetrics
from shared.models.heartbeat import INT8_MAX
from tests.ingest.conftest import add_camera, bearer


def test_the_models_have_one_column_per_metric() -> None:
    for model in (Heartbeat, CameraState):
        columns = model.__table__.c
        assert {name: type(columns[name].type) for name in HEARTBEAT_METRICS} == {
            name: type(t) for name, t in HEARTBEAT_METRIC_TYPES.items()
        }


def test_ingest_validates_exactly_the_metrics() -> None:
    assert set(HeartbeatIn.__struct_fields__) == {*HEARTBEAT_METRICS, "sent_at"}
    assert set(BatchHeartbeatIn.__struct_fields__) == {*HEARTBEAT_METRICS, "sent_at", "camera"}
    assert issubclass(HeartbeatIn, HeartbeatMetrics)


def test_the_row_and_the_statement_carry_every_metric() -> None:
    import uuid
    from datetime import UTC, datetime

    assert len(HeartbeatRow._field_defaults["metrics"]) == len(HEARTBEAT_METRICS)
    sql, args = upsert_statement([heartbeat_row(uuid.uuid4(), datetime.now(UTC))])
    for name in HEARTBEAT_METRICS:
        assert f"EXCLUDED.{name}" in sql
    assert len(args) == 4 + len(HEARTBEAT_METRICS)


def test_the_bench_loader_names_only_metrics_and_loads_every_column() -> None:
    assert set(HEALTHY_METRICS) <= set(HEARTBEAT_METRICS)
    assert set(TROUBLED_METRICS) <= set(HEARTBEAT_METRICS)
    assert set(HEARTBEAT_METRICS) <= set(STATE_COLUMNS)


def test_every_integer_metric_is_bounded_within_its_bigint_column() -> None:
    schema = msgspec.json.schema(HeartbeatMetrics)
    properties = schema["$defs"]["HeartbeatMetrics"]["properties"]
    for name, column in HEARTBEAT_METRIC_TYPES.items():
        if isinstance(column, BigInteger):
            bounds = properties[name]["anyOf"][0]
            assert bounds["minimum"] >= -INT8_MAX and bounds["maximum"] <= INT8_MAX


def _sample(column: object) -> object:
    """A valid value of every metric, by its column type."""
    if isinstance(column, ARRAY):
        return ["E1", "E2"]
    if isinstance(column, String):
        return "fw-1.2"
    if isinstance(column, BigInteger):
        return 42
    assert isinstance(column, Float)
    return 12.5


async def test_a_heartbeat_with_every_metric_is_stored_in_both_tables(live, db) -> None:
    _, client = live
    cam = await add_camera(db)
    sent = {name: _sample(column) for name, column in HEARTBEAT_METRIC_TYPES.items()}
    assert (await client.post("/v1/heartbeats", json=sent, headers=bearer(cam.token))).status_code == 202
    columns = ", ".join(HEARTBEAT_METRICS)
    for table in ("heartbeat", "camera_state"):
        row = await db.fetchrow(f"SELECT {columns} FROM {table} WHERE camera_id = $1", cam.id)
        assert dict(row) == sent
