"""Two replicas of every service behind haproxy, on one primary through PgBouncer (transaction mode)."""

import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from citycam.cluster.postgres import psql
from citycam.cluster.stack import Cluster
from tests.cluster.conftest import Receiver, SseReader, heartbeat, log_lines, register, sql, wait_for
from tests.helpers import bearer

pytestmark = pytest.mark.cluster

LEADER_RE = re.compile(r"^citycam_health_evaluator_leader (\S+)$", re.MULTILINE)


def _is_leader(cluster: Cluster, index: int) -> bool:
    try:
        text = httpx.get(cluster.url("health", index) + "/metrics", timeout=2).text
    except httpx.HTTPError:
        return False
    found = LEADER_RE.search(text)
    return found is not None and float(found.group(1)) == 1.0


def _pgbouncer_clients(cluster: Cluster) -> set[str]:
    """The application_name of every client connected to PgBouncer."""
    rows = psql(cluster.layout.pgbouncer, "SHOW CLIENTS", database="pgbouncer").splitlines()
    return {field for row in rows for field in row.split("|") if field.startswith("citycam-")}


def test_pooled_connections_go_through_pgbouncer(cluster: Cluster) -> None:
    assert {"citycam-registry", "citycam-ingest-writer", "citycam-health"} <= _pgbouncer_clients(cluster)


def test_listeners_and_the_leader_lock_bypass_pgbouncer(cluster: Cluster) -> None:
    clients = _pgbouncer_clients(cluster)
    assert "citycam-ingest-listener" not in clients and "citycam-health-evaluator" not in clients
    direct = sql(
        cluster,
        "SELECT application_name, count(*) FROM pg_stat_activity WHERE application_name IN "
        "('citycam-ingest-listener', 'citycam-health-evaluator', 'citycam-health-sse') GROUP BY 1 ORDER BY 1",
    )
    counts = dict((name, int(n)) for name, n in direct)
    assert counts["citycam-ingest-listener"] == 2 and counts["citycam-health-evaluator"] == 2


NOTIFIED_RE = re.compile(r'^citycam_ingest_token_cache_invalidations_total\{cause="notify"\} (\S+)$', re.MULTILINE)


def _notified(cluster: Cluster, index: int) -> float:
    """How many NOTIFY invalidations one ingest replica has applied (its /metrics, no database)."""
    found = NOTIFIED_RE.search(httpx.get(cluster.url("ingest", index) + "/metrics", timeout=2).text)
    return float(found.group(1)) if found else 0.0


def test_token_rotation_reaches_every_ingest_replica_within_1s(cluster: Cluster) -> None:
    (cam,) = register(cluster, 1)
    old = cam["device_token"]
    for index in (1, 2):
        assert heartbeat(cluster.url("ingest", index), old) == 202  # cached on both replicas now
    before = {index: _notified(cluster, index) for index in (1, 2)}
    sent = time.monotonic()
    rotated = httpx.post(
        cluster.url("registry") + f"/v1/cameras/{cam['id']}/rotate-token", headers=bearer(cluster.admin_key)
    )
    committed = time.monotonic()  # the NOTIFY goes out with the commit, before the 200
    assert rotated.status_code == 200, rotated.text
    # Polled on /metrics (answered without the database), so the poll itself adds little to the figure.
    applied: dict[int, float] = {}
    while len(applied) < 2 and time.monotonic() - committed < 5:
        for index in (1, 2):
            if index not in applied and _notified(cluster, index) > before[index]:
                applied[index] = time.monotonic() - committed
        time.sleep(0.01)
    print(f"rotation committed {committed - sent:.2f} s after it was sent; applied by the replicas after {applied}")
    assert sorted(applied) == [1, 2] and max(applied.values()) < 1.0
    for index in (1, 2):
        assert heartbeat(cluster.url("ingest", index), old) == 401
        assert heartbeat(cluster.url("ingest", index), rotated.json()["device_token"]) == 202


def test_per_camera_rate_limit_holds_across_replicas(cluster: Cluster) -> None:
    (cam,) = register(cluster, 1)
    started = time.monotonic()
    codes = [heartbeat(cluster.url("ingest"), cam["device_token"]) for _ in range(20)]
    elapsed = time.monotonic() - started
    # Burst 5 and 1/s: hashed on the token, all 20 reach one replica and one bucket (two would take 10).
    assert codes.count(202) <= 5 + int(elapsed) + 1 and codes.count(429) >= 20 - (5 + int(elapsed) + 1)


def test_sse_on_either_replica_gets_every_event(cluster: Cluster) -> None:
    readers = [SseReader(cluster.url("health", index), cluster.admin_key) for index in (1, 2)]
    try:
        for reader in readers:
            assert reader.connected.wait(10)
        cams = register(cluster, 3)
        for cam in cams:
            assert heartbeat(cluster.url("ingest"), cam["device_token"]) == 202
        ids = "', '".join(c["id"] for c in cams)
        events = wait_for(
            lambda: (
                [int(r[0]) for r in sql(cluster, f"SELECT id FROM status_event WHERE camera_id IN ('{ids}')")]
                if len(sql(cluster, f"SELECT id FROM status_event WHERE camera_id IN ('{ids}')")) >= 3
                else None
            ),
            15,
            "an online event per camera",
        )
        wait_for(lambda: all(set(events) <= set(r.ids) for r in readers), 5, "every event on both streams")
    finally:
        for reader in readers:
            reader.close()


def test_retention_runs_once_across_replicas(cluster: Cluster) -> None:
    (newest,) = sql(cluster, "SELECT max(relname) FROM pg_class WHERE relname ~ '^heartbeat_p[0-9]{8}$'")[0]
    logs = [cluster.children[f"ingest-{i}"].log_path for i in (1, 2)]
    before = sum(log_lines(path, newest) for path in logs)
    sql(cluster, f"DROP TABLE {newest}")
    # Each replica runs the job every 2 s here; the lock lets one create it, the other finds it there.
    exists = f"SELECT to_regclass('{newest}') IS NOT NULL"
    wait_for(lambda: sql(cluster, exists) == [["t"]], 15, f"{newest} recreated")
    time.sleep(3)  # another round of both replicas' jobs
    assert sum(log_lines(path, newest) for path in logs) - before == 1


def test_health_reads_go_to_the_standby(cluster: Cluster) -> None:
    for _ in range(4):  # both replicas, through the front
        assert (
            httpx.get(cluster.url("health") + "/v1/health/summary", headers=bearer(cluster.admin_key)).status_code
            == 200
        )
    readers = psql(
        cluster.standby.port, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'citycam-health-reads'"
    )
    assert int(readers) >= 1


@dataclass
class Takeover:
    """The leader killed while four cameras go late, then offline (the new leader records that)."""

    leaders_before: list[int]
    took_over_s: float
    per_camera: dict[str, list[tuple[str, str]]]
    alarmed: set[int]
    delivered: list[int]


@pytest.fixture(scope="module")
def takeover(cluster: Cluster, receiver: Receiver) -> Iterator[Takeover]:
    leaders = [i for i in (1, 2) if _is_leader(cluster, i)]
    created = httpx.post(
        cluster.url("health") + "/v1/health/webhooks",
        json={"name": "cluster test", "url": receiver.url, "incident_members": True, "incidents": False},
        headers=bearer(cluster.admin_key),
    )
    assert created.status_code == 201, created.text
    # Four cameras (fewer than make an incident) at 5 s: online now, late after 10 s, offline after 15 s.
    cams = register(cluster, 4, heartbeat_interval_s=5)
    for cam in cams:
        assert heartbeat(cluster.url("ingest"), cam["device_token"]) == 202
    ids = "', '".join(c["id"] for c in cams)

    def transitions() -> list[list[str]]:
        return sql(
            cluster,
            "SELECT id, camera_id, coalesce(from_status, '-'), to_status FROM status_event "
            f"WHERE camera_id IN ('{ids}') ORDER BY id",
        )

    wait_for(lambda: sum(r[3] == "degraded" for r in transitions()) == 4, 30, "four late cameras")
    leader = leaders[0]
    follower = 3 - leader
    cluster.children[f"health-{leader}"].kill()
    killed = time.monotonic()
    try:
        wait_for(lambda: _is_leader(cluster, follower), 5, "a new leader")
        took_over = time.monotonic() - killed
        wait_for(lambda: sum(r[3] == "offline" for r in transitions()) == 4, 30, "four offline cameras")
        time.sleep(2)  # room for a duplicate to appear
        rows = transitions()
        per_camera = {c["id"]: [(r[2], r[3]) for r in rows if r[1] == c["id"]] for c in cams}
        alarmed = {int(r[0]) for r in rows if r[2] != "-"}

        def delivered() -> list[int]:
            return [d["event"]["id"] for d in receiver.deliveries if d["event"]["camera_id"] in per_camera]

        wait_for(lambda: set(delivered()) >= alarmed, 15, "a delivery per transition")
        time.sleep(1)  # room for a second delivery to arrive
        print(f"leader took over after {took_over:.2f} s; {len(delivered())} deliveries for {len(alarmed)} events")
        yield Takeover(leaders, took_over, per_camera, alarmed, delivered())
    finally:
        cluster.children[f"health-{leader}"].start()
        cluster.wait_ready([f"health-{leader}"])


def test_exactly_one_evaluator_leader(takeover: Takeover) -> None:
    assert len(takeover.leaders_before) == 1


def test_another_replica_leads_within_2s_of_the_leaders_death(takeover: Takeover) -> None:
    assert takeover.took_over_s < 2.0


def test_no_transition_is_lost_or_repeated_across_the_takeover(takeover: Takeover) -> None:
    # Per camera one unbroken chain (each event leaves the status the previous one entered: none
    # lost), ending online -> degraded -> offline, each once (none repeated). A camera evaluated
    # between its registration and its heartbeat starts with '-' -> unknown.
    for seq in takeover.per_camera.values():
        assert all(prev[1] == cur[0] for prev, cur in itertools.pairwise(seq))
        first = "-" if len(seq) == 3 else "unknown"
        assert len(seq) in (3, 4) and seq[-3:] == [(first, "online"), ("online", "degraded"), ("degraded", "offline")]


def test_each_transition_is_delivered_to_a_webhook_once(takeover: Takeover) -> None:
    assert sorted(takeover.delivered) == sorted(takeover.alarmed)
