"""What the rendered overlays promise: probes, drain, resources, secrets, policies, database wiring."""

from typing import Any

import pytest

from services.ingest.settings import IngestSettings
from tests.deploy.conftest import OVERLAYS, SERVICES, Manifest, app_container, find, one


@pytest.fixture(params=OVERLAYS)
def docs(request: pytest.FixtureRequest, rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    return rendered[request.param]


def _env(container: Manifest) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


def _config(docs: list[Manifest], prefix: str) -> dict[str, str]:
    (config,) = [d for d in find(docs, "ConfigMap") if d["metadata"]["name"].startswith(prefix + "-")]
    return config["data"]


def _drain_budget_s(deployment: Manifest) -> float:
    """preStop delay plus uvicorn's graceful shutdown: what a pod may spend before its lifespan ends."""
    container = app_container(deployment)
    command = container["command"]
    graceful = float(command[command.index("--timeout-graceful-shutdown") + 1])
    return container["lifecycle"]["preStop"]["sleep"]["seconds"] + graceful


def test_services_probe_healthz_for_startup_and_liveness_and_readyz_for_readiness(docs) -> None:
    for name in SERVICES:
        container = app_container(one(docs, "Deployment", name))
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_ingest_grace_period_covers_its_drain(docs) -> None:
    ingest = one(docs, "Deployment", "ingest")
    settings = IngestSettings()
    # After uvicorn stops, the writer commits what is queued for up to flush_timeout_s + 2 (writer.close).
    drain = _drain_budget_s(ingest) + settings.flush_timeout_s + 2
    assert ingest["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= drain


def test_every_service_grace_period_covers_prestop_and_graceful_shutdown(docs) -> None:
    for name in SERVICES:
        deployment = one(docs, "Deployment", name)
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > _drain_budget_s(deployment)


def test_every_container_has_cpu_and_memory_requests_and_limits(docs) -> None:
    for workload in find(docs, "Deployment") + find(docs, "Job") + find(docs, "StatefulSet"):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys() <= resources["limits"].keys()


def test_no_secret_value_is_rendered(docs) -> None:
    assert find(docs, "Secret") == []
    for workload in find(docs, "Deployment") + find(docs, "Job") + find(docs, "StatefulSet"):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for name, entry in _env(container).items():
                if any(word in name for word in ("PASSWORD", "KEY", "TOKEN", "SECRET")) and "value" in entry:
                    assert name.endswith("_FILE"), f"{name} has a literal value"


def test_citycam_pods_run_unprivileged_on_a_read_only_root(docs) -> None:
    for workload in find(docs, "Deployment") + find(docs, "Job"):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        context = app_container(workload)["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]


def test_prometheus_scrapes_the_container_port(docs) -> None:
    for name in SERVICES:
        deployment = one(docs, "Deployment", name)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        port = app_container(deployment)["ports"][0]["containerPort"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        assert annotations["prometheus.io/path"] == "/metrics"


def test_metrics_require_an_api_key_since_services_listen_beyond_loopback(docs) -> None:
    config = _config(docs, "citycam-config")
    assert config["CITYCAM_HOST"] == "0.0.0.0"  # noqa: S104 - what the test checks
    assert config["CITYCAM_HTTP_METRICS_REQUIRE_AUTH"] == "true"


def test_each_service_has_a_disruption_budget_over_its_pods(docs) -> None:
    for name in SERVICES:
        selector = one(docs, "Deployment", name)["spec"]["selector"]["matchLabels"]
        assert one(docs, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"] == selector


def test_ingest_scales_horizontally(docs) -> None:
    hpa = one(docs, "HorizontalPodAutoscaler", "ingest")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ingest"}
    assert hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_migration_job_migrates_on_the_direct_url_with_the_admin_key_from_a_secret(docs) -> None:
    job = one(docs, "Job", "citycam-migrate")
    container = app_container(job)
    env = _env(container)
    assert container["command"] == ["citycam", "migrate"]
    assert env["DATABASE_URL"]["valueFrom"]["configMapKeyRef"]["key"] == "CITYCAM_DB_DIRECT_URL"
    admin = env["CITYCAM_ADMIN_KEY"]["valueFrom"]["secretKeyRef"]
    assert admin["name"] == "citycam-admin" and not admin.get("optional", False)
    assert job["spec"]["parallelism"] == 1


def test_citycam_egress_reaches_only_the_database_and_dns(docs) -> None:
    policy = one(docs, "NetworkPolicy", "citycam-to-database")
    (database, dns) = policy["spec"]["egress"]
    assert database["to"] == [{"podSelector": {"matchLabels": {"citycam.io/database": "true"}}}]
    assert database["ports"] == [{"protocol": "TCP", "port": 5432}]
    assert {p["port"] for p in dns["ports"]} == {53}
    deny = one(docs, "NetworkPolicy", "citycam-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "egress" not in deny["spec"]


def test_services_accept_ingress_on_their_own_port_only(docs) -> None:
    policy = one(docs, "NetworkPolicy", "citycam-service-ports")
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": "http"}]}]


def test_the_database_pods_carry_the_label_citycam_egress_allows(rendered) -> None:
    dev = one(rendered["dev"], "StatefulSet", "citycam-db")["spec"]["template"]["metadata"]["labels"]
    production = rendered["production"]
    cluster = one(production, "Cluster", "citycam-db")["spec"]["inheritedMetadata"]["labels"]
    pooler = one(production, "Pooler", "citycam-db-pooler-rw")["spec"]["template"]["metadata"]["labels"]
    for labels in (dev, cluster, pooler):
        assert labels["citycam.io/database"] == "true"


def test_dev_services_reach_the_statefulset_through_its_service(rendered) -> None:
    docs = rendered["dev"]
    config = _config(docs, "citycam-database")
    service = one(docs, "Service", "citycam-db-rw")
    assert "@citycam-db-rw:5432/" in config["DATABASE_URL"]
    pod_labels = one(docs, "StatefulSet", "citycam-db")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_production_pools_through_pgbouncer_and_bypasses_it_for_listeners_and_locks(rendered) -> None:
    config = _config(rendered["production"], "citycam-database")
    assert "@citycam-db-pooler-rw:5432/" in config["DATABASE_URL"]
    assert "@citycam-db-rw:5432/" in config["CITYCAM_DB_DIRECT_URL"]
    assert "@citycam-db-ro:5432/" in config["CITYCAM_DB_READ_URL"]
    assert float(config["CITYCAM_DB_READ_MAX_LAG_S"]) > 0


def test_production_pooler_is_pgbouncer_in_transaction_mode_towards_the_primary(rendered) -> None:
    pooler = one(rendered["production"], "Pooler", "citycam-db-pooler-rw")["spec"]
    assert pooler["cluster"]["name"] == "citycam-db"
    assert pooler["type"] == "rw"
    assert pooler["pgbouncer"]["poolMode"] == "transaction"


def test_production_cluster_has_three_instances_with_synchronous_replication(rendered) -> None:
    cluster = one(rendered["production"], "Cluster", "citycam-db")["spec"]
    assert cluster["instances"] == 3
    synchronous = cluster["postgresql"]["synchronous"]
    assert synchronous["method"] == "any" and synchronous["number"] == 1
    assert synchronous["dataDurability"] == "required"


def test_every_object_of_an_overlay_is_in_its_namespace(rendered) -> None:
    for overlay, namespace in (("dev", "citycam-dev"), ("production", "citycam")):
        for doc in rendered[overlay]:
            assert doc["metadata"].get("namespace") == namespace, doc["metadata"]["name"]
