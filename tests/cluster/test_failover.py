"""The synchronous standby: what a 202 means while it is down (block, degrade), and a failover under
heartbeat load that loses no acknowledged heartbeat. Runs after the other cluster tests (conftest)."""

import asyncio
import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import pytest

from citycam.cluster.settings import SyncMode
from citycam.cluster.stack import Cluster
from tests.cluster.conftest import heartbeat, register, sql, wait_for
from tests.helpers import bearer

pytestmark = pytest.mark.cluster

# 30 heartbeats/s: within what one loaded 2-core machine sends and serves while it also rebuilds a standby.
LOAD_CAMERAS = 30


@dataclass(frozen=True)
class Sent:
    started: float
    ended: float
    status: int  # 0: no answer (connection refused or reset, time limit)
    camera_id: str
    seq: int


class Load:
    """Every camera sends a heartbeat a second (its uptime_s numbers it) through ingest's front."""

    def __init__(self, cluster: Cluster, cams: list[dict[str, Any]]) -> None:
        self.url = cluster.url("ingest") + "/v1/heartbeats"
        self.cams = cams
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> "Load":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=LOAD_CAMERAS, max_keepalive_connections=LOAD_CAMERAS)
        async with httpx.AsyncClient(timeout=5, limits=limits) as client:
            await asyncio.gather(*(self._camera(client, cam) for cam in self.cams))

    async def _camera(self, client: httpx.AsyncClient, cam: dict[str, Any]) -> None:
        seq = 0
        while not self._stop.is_set():
            seq += 1
            started = time.monotonic()
            try:
                r = await client.post(self.url, json={"uptime_s": seq}, headers=bearer(cam["device_token"]))
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            self.sent.append(Sent(started, time.monotonic(), status, cam["id"], seq))
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def _timeline(sent: list[Sent], since: float) -> dict[int, dict[int, int]]:
    timeline: dict[int, dict[int, int]] = {}
    for s in sent:
        second = timeline.setdefault(int(s.started - since), {})
        second[s.status] = second.get(s.status, 0) + 1
    return dict(sorted(timeline.items()))


def test_health_reads_fall_back_to_the_primary_while_the_standby_is_down(cluster: Cluster) -> None:
    cluster.use_sync_mode("degrade")  # so that the cluster keeps writing meanwhile
    cluster.standby.kill()
    try:
        for index in (1, 2):
            r = httpx.get(cluster.url("health", index) + "/v1/health/summary", headers=bearer(cluster.admin_key))
            assert r.status_code == 200
    finally:
        cluster.standby.start()
        cluster.primary.wait_streaming(cluster.standby.name)
        cluster.use_sync_mode("block")


def test_block_mode_answers_503_never_202_while_the_standby_is_down(cluster: Cluster) -> None:
    (cam,) = register(cluster, 1)
    cluster.standby.kill()
    try:
        # The commit waits for a standby that is not there; ingest answers 503 after its commit wait.
        assert heartbeat(cluster.url("ingest"), cam["device_token"]) == 503
    finally:
        cluster.standby.start()
    cluster.primary.wait_streaming(cluster.standby.name)
    wait_for(lambda: heartbeat(cluster.url("ingest"), cam["device_token"]) == 202, 15, "a 202 with the standby back")


def test_degrade_mode_commits_on_the_primary_alone_while_the_standby_is_down(cluster: Cluster) -> None:
    (cam,) = register(cluster, 1)
    cluster.use_sync_mode("degrade")
    cluster.standby.kill()
    try:
        wait_for(lambda: cluster.primary.sync_standbys() == "", 15, "synchronous_standby_names cleared")
        assert heartbeat(cluster.url("ingest"), cam["device_token"]) == 202
    finally:
        cluster.standby.start()
    # Back: the standby streams and is synchronous again.
    wait_for(lambda: cluster.primary.sync_standbys() == "*", 15, "synchronous_standby_names restored")
    cluster.use_sync_mode("block")


@pytest.mark.parametrize("mode", ["block", "degrade"])
def test_failover_under_load_loses_no_acknowledged_heartbeat(cluster: Cluster, mode: SyncMode) -> None:
    cluster.use_sync_mode(mode)
    cams = register(cluster, LOAD_CAMERAS)
    with Load(cluster, cams) as load:
        time.sleep(5)
        killed = time.monotonic()
        report = cluster.failover()
        time.sleep(10)
    acked = {(s.camera_id, s.seq) for s in load.sent if s.status == 202}
    ids = "', '".join(c["id"] for c in cams)
    stored = {
        (camera_id, int(seq))
        for camera_id, seq in sql(cluster, f"SELECT camera_id, uptime_s FROM heartbeat WHERE camera_id IN ('{ids}')")
    }
    after = [s for s in load.sent if s.started >= killed]
    failed = [s for s in after if s.status not in (202, 429)]
    promoted_at = killed + report.promoted_s
    first_2xx = min(s.ended for s in after if s.status == 202 and s.started >= promoted_at)
    figures = {
        "acknowledged": len(acked),
        "acknowledged_lost": len(acked - stored),
        "failed_after_kill": len(failed),
        "statuses_after_kill": {str(code): sum(s.status == code for s in after) for code in {s.status for s in after}},
        "seconds_of_errors": round(max(s.ended for s in failed) - min(s.started for s in failed), 2) if failed else 0,
        "first_2xx_after_kill_s": round(first_2xx - killed, 2),
        "first_2xx_after_promotion_s": round(first_2xx - promoted_at, 2),
        **{k: round(v, 2) for k, v in asdict(report).items()},
        "sync_mode": cluster.settings.sync_mode,
        # Answers by second after the kill (when each request was sent): where the 503s are.
        "timeline": _timeline(after, killed),
    }
    print("failover:", json.dumps(figures))
    (cluster.dir / f"failover-{mode}.json").write_text(json.dumps(figures, indent=2) + "\n")
    assert acked - stored == set()
    # Every camera is heard again on the new primary.
    assert {s.camera_id for s in after if s.status == 202 and s.started > killed + report.standby_back_s} == {
        c["id"] for c in cams
    }
