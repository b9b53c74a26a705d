"""Every rendered object is valid Kubernetes (kubernetes-validate, strict) and every CloudNativePG object
matches the CRD schemas of the vendored release (deploy/k8s/crds/)."""

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import CNPG_GROUP, K8S, OVERLAYS, Manifest, one

# The oldest and the newest Kubernetes minor that CloudNativePG 1.30 supports.
KUBERNETES_VERSIONS = ("1.34.0", "1.36.0")
CNPG_RELEASE = "1.30.0"
CRDS = K8S / "crds" / f"cloudnative-pg-{CNPG_RELEASE}"


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's structural schema as JSON Schema that rejects unknown fields, as the API server's strict
    field validation does (it would otherwise prune them silently), and accepts null where nullable."""
    out = dict(schema)
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["properties"] = {name: _strict(sub) for name, sub in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(out["additionalProperties"])
    if isinstance(out.get("items"), dict):
        out["items"] = _strict(out["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [_strict(sub) for sub in out[key]]
    return out


@cache
def _crd_validator(path: Path, version: str) -> jsonschema.protocols.Validator:
    crd = yaml.safe_load(path.read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = _strict(served["schema"]["openAPIV3Schema"])
    return jsonschema.Draft202012Validator(schema)


def validate_cnpg(doc: Manifest) -> None:
    """Raise jsonschema.ValidationError when doc does not match its vendored CRD."""
    version = doc["apiVersion"].removeprefix(CNPG_GROUP)
    plural = {"Cluster": "clusters", "Pooler": "poolers"}[doc["kind"]]
    _crd_validator(CRDS / f"postgresql.cnpg.io_{plural}.yaml", version).validate(doc)


def _core(rendered: dict[str, list[Manifest]]) -> list[tuple[str, Manifest]]:
    return [(o, d) for o in OVERLAYS for d in rendered[o] if not d["apiVersion"].startswith(CNPG_GROUP)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_object_is_valid_kubernetes(rendered, version: str) -> None:
    for overlay, doc in _core(rendered):
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")


def test_strict_kubernetes_validation_rejects_an_unknown_field(rendered) -> None:
    deployment = copy.deepcopy(one(rendered["dev"], "Deployment", "ingest"))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_only_production_has_cloudnative_pg_objects(rendered) -> None:
    kinds = {o: sorted(d["kind"] for d in rendered[o] if d["apiVersion"].startswith(CNPG_GROUP)) for o in OVERLAYS}
    assert kinds == {"dev": [], "production": ["Cluster", "Pooler"]}


@pytest.mark.parametrize("kind", ["Cluster", "Pooler"])
def test_cloudnative_pg_objects_match_the_vendored_crds(rendered, kind: str) -> None:
    (doc,) = [d for d in rendered["production"] if d["kind"] == kind]
    validate_cnpg(doc)


def test_crd_validation_rejects_an_unknown_field(rendered) -> None:
    cluster = copy.deepcopy(one(rendered["production"], "Cluster", "citycam-db"))
    cluster["spec"]["postgresql"]["synchronous"]["numbr"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_cnpg(cluster)


def test_crd_validation_rejects_a_value_outside_an_enum(rendered) -> None:
    pooler = copy.deepcopy(one(rendered["production"], "Pooler", "citycam-db-pooler-rw"))
    pooler["spec"]["pgbouncer"]["poolMode"] = "statement"
    with pytest.raises(jsonschema.ValidationError):
        validate_cnpg(pooler)


def test_the_vendored_crds_come_with_their_licence() -> None:
    assert "Apache License" in (CRDS / "LICENSE").read_text()
    assert sorted(p.name for p in CRDS.iterdir()) == [
        "LICENSE",
        "postgresql.cnpg.io_clusters.yaml",
        "postgresql.cnpg.io_poolers.yaml",
    ]
