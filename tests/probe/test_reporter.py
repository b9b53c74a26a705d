"""Heartbeat batches: at most max_items each, stale ones dropped, refused ones retried or dropped.

Ingest is stood in for by a recording app here (the end-to-end test sends to the real ingest)."""

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from services.probe.reporter import Reporter
from services.probe.schemas import Heartbeat


class Ingest:
    def __init__(self) -> None:
        self.batches: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.app = FastAPI()

        @self.app.post("/v1/heartbeats/batch")
        async def batch(request: Request) -> Response:
            body = json.loads(await request.body())
            self.batches.append(body)
            self.headers.append(dict(request.headers))
            if self.status != 200:
                return Response(status_code=self.status)
            results = [{"camera": h["camera"], "status": 202} for h in body["heartbeats"]]
            return Response(json.dumps({"results": results}), media_type="application/json")


@pytest.fixture
async def ingest() -> AsyncIterator[tuple[Ingest, Reporter]]:
    fake = Ingest()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://ingest") as client:
        yield fake, Reporter(client, token="cct_gateway", max_items=1000, every_s=1.0, keepalive_s=60)


def _hb(i: int) -> Heartbeat:
    return Heartbeat(camera=f"cam-{i}", sent_at="2026-01-01T00:00:00+00:00", errors=["rtsp_auth"] if i % 2 else None)


async def test_batches_carry_at_most_1000_items_and_the_gateway_token(ingest: tuple[Ingest, Reporter]) -> None:
    fake, reporter = ingest
    for i in range(2500):
        reporter.put(_hb(i), valid_s=30)
    for _ in range(3):
        await reporter.send_once()
    assert [len(b["heartbeats"]) for b in fake.batches] == [1000, 1000, 500]
    assert fake.headers[0]["authorization"] == "Bearer cct_gateway"
    assert reporter.sent_items == 2500


async def test_a_heartbeat_older_than_its_interval_is_dropped_not_sent(ingest: tuple[Ingest, Reporter]) -> None:
    fake, reporter = ingest
    reporter.put(_hb(1), valid_s=-1)
    reporter.put(_hb(2), valid_s=30)
    await reporter.send_once()
    assert [h["camera"] for h in fake.batches[0]["heartbeats"]] == ["cam-2"]


@pytest.mark.parametrize("status", [503, 429])
async def test_a_batch_ingest_could_not_take_is_sent_again(ingest: tuple[Ingest, Reporter], status: int) -> None:
    fake, reporter = ingest
    fake.status = status
    reporter.put(_hb(1), valid_s=30)
    await reporter.send_once()
    fake.status = 200
    await reporter.send_once()
    assert [len(b["heartbeats"]) for b in fake.batches] == [1, 1] and reporter.sent_items == 1


async def test_a_refused_batch_is_dropped(ingest: tuple[Ingest, Reporter]) -> None:
    fake, reporter = ingest
    fake.status = 401
    reporter.put(_hb(1), valid_s=30)
    await reporter.send_once()
    assert not reporter.queue


async def test_nothing_to_send_sends_nothing_until_the_keepalive_is_due(ingest: tuple[Ingest, Reporter]) -> None:
    fake, reporter = ingest
    reporter.last_sent = time.monotonic()
    await reporter.send_once()
    assert fake.batches == []
    reporter.last_sent -= 61
    await reporter.send_once()
    assert fake.batches == [{"heartbeats": [], "sent_at": fake.batches[0]["sent_at"]}]


async def test_items_are_encoded_without_empty_fields(ingest: tuple[Ingest, Reporter]) -> None:
    fake, reporter = ingest
    reporter.put(_hb(2), valid_s=30)
    await reporter.send_once()
    assert fake.batches[0]["heartbeats"] == [{"camera": "cam-2", "sent_at": "2026-01-01T00:00:00+00:00"}]
