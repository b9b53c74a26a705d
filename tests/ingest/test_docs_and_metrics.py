"""The OpenAPI schema documents the heartbeat bodies exactly; /metrics has the ingest series."""

import asyncpg

from services.ingest.schemas import HeartbeatIn
from tests.ingest.conftest import add_camera, bearer


async def test_openapi_documents_the_heartbeat_body_from_the_validating_struct(live) -> None:
    _, client = live
    schema = (await client.get("/openapi.json")).json()
    post = schema["paths"]["/v1/heartbeats"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(body["properties"]) == set(HeartbeatIn.__struct_fields__)
    assert body["additionalProperties"] is False
    assert {"202", "401", "403", "413", "422", "429", "503"} <= set(post["responses"])
    batch = schema["paths"]["/v1/heartbeats/batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BatchIn")
    assert schema["components"]["schemas"]["BatchIn"]["properties"]["heartbeats"]["maxItems"] == 1000


async def test_metrics_count_accepted_and_rejected_and_commits(live, db: asyncpg.Connection) -> None:
    _, client = live
    cam = await add_camera(db)
    await client.post("/v1/heartbeats", json={"sent_at": "2020-01-01T00:00:00Z"}, headers=bearer(cam.token))
    await client.post("/v1/heartbeats", json={"fps": -1}, headers=bearer(cam.token))
    text = (await client.get("/metrics")).text
    for series in (
        'citycam_ingest_heartbeats_accepted_total{endpoint="single"}',
        'citycam_ingest_heartbeats_rejected_total{endpoint="single",reason="invalid"}',
        "citycam_ingest_group_commit_rows_bucket",
        "citycam_ingest_commit_seconds_bucket",
        "citycam_ingest_clock_skew_seconds_bucket",
        'citycam_ingest_token_cache_total{result="hit"}',
        "citycam_ingest_token_cache_hit_ratio",
        'citycam_http_requests_total{method="POST",route="/v1/heartbeats",service="ingest",status="202"}',
    ):
        assert series in text, series
