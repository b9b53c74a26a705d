"""Two replicas of every service behind haproxy, on one primary through PgBouncer (transaction mode)."""

import itertools
import re
import time

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


def test_token_rotation_reaches_every_ingest_replica_within_1s(cluster: Cluster) -> None:
    (cam,) = register(cluster, 1)
    old = cam["device_token"]
    for index in (1, 2):
        assert heartbeat(cluster.url("ingest", index), old) == 202  # cached on both replicas now
    rotated = httpx.post(
        cluster.url("registry") + f"/v1/cameras/{cam['id']}/rotate-token", headers=bearer(cluster.admin_key)
    )
    assert rotated.status_code == 200, rotated.text
    started = time.monotonic()
    refused_after: dict[int, float] = {}
    while len(refused_after) < 2 and time.monotonic() - started < 3:
        for index in (1, 2):
            # 202 (or 429 once its bucket is empty) while the replica still trusts the old token.
            if index not in refused_after and heartbeat(cluster.url("ingest", index), old) == 401:
                refused_after[index] = time.monotonic() - started
        time.sleep(0.02)
    print(f"old token refused after {refused_after}")
    assert sorted(refused_after) == [1, 2] and max(refused_after.values()) < 1.0
    new = rotated.json()["device_token"]
    assert heartbeat(cluster.url("ingest", 1), new) == 202 and heartbeat(cluster.url("ingest", 2), new) == 202


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


def test_one_leader_and_a_takeover_within_2s_without_lost_or_repeated_events(
    cluster: Cluster, receiver: Receiver
) -> None:
    leaders = [i for i in (1, 2) if _is_leader(cluster, i)]
    assert len(leaders) == 1
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
    (leader,) = leaders
    follower = 3 - leader
    cluster.children[f"health-{leader}"].kill()
    killed = time.monotonic()
    wait_for(lambda: _is_leader(cluster, follower), 5, "a new leader")
    took_over = time.monotonic() - killed
    try:
        wait_for(lambda: sum(r[3] == "offline" for r in transitions()) == 4, 30, "four offline cameras")
        time.sleep(2)  # room for a duplicate to appear
        rows = transitions()
        per_camera = {c["id"]: [(r[2], r[3]) for r in rows if r[1] == c["id"]] for c in cams}
        # Per camera one unbroken chain (each event leaves the status the previous one entered: none
        # lost), ending online -> degraded -> offline, each of those once (none repeated). A camera
        # evaluated between its registration and its heartbeat starts with '-' -> unknown.
        for seq in per_camera.values():
            assert all(prev[1] == cur[0] for prev, cur in itertools.pairwise(seq)), per_camera
            assert seq[-3:] == [
                ("-" if len(seq) == 3 else "unknown", "online"),
                ("online", "degraded"),
                ("degraded", "offline"),
            ]
            assert len(seq) in (3, 4), per_camera
        alarmed = {int(r[0]) for r in rows if r[2] != "-"}
        wait_for(
            lambda: {d["event"]["id"] for d in receiver.deliveries if d["event"]["camera_id"] in per_camera} >= alarmed,
            15,
            "a delivery per transition",
        )
        delivered = [d["event"]["id"] for d in receiver.deliveries if d["event"]["camera_id"] in per_camera]
        print(f"leader took over after {took_over:.2f} s; {len(delivered)} deliveries for {len(alarmed)} events")
        assert sorted(delivered) == sorted(alarmed) and took_over < 2.0
    finally:
        cluster.children[f"health-{leader}"].start()
        cluster.wait_ready([f"health-{leader}"])
