"""Every overlay renders with kustomize and validates strictly against the Kubernetes schemas (offline,
kubernetes-validate --strict); custom resources are checked against custom_resources.py."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy.custom_resources import SCHEMAS, schema_for
from tests.deploy.manifests import COMPONENTS, K8S, OVERLAYS, Doc, declared_processes, key, render

KUBERNETES_VALIDATE = str(Path(sys.executable).parent / "kubernetes-validate")
CUSTOM_KINDS = {kind for _, kind in SCHEMAS}


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBERNETES_VALIDATE, "--strict", str(path)], capture_output=True, text=True, timeout=60)


def test_overlays_exist() -> None:
    assert {"dev", "prod"} <= set(OVERLAYS)


def test_every_component_is_used_by_an_overlay() -> None:
    used = set()
    for overlay in OVERLAYS:
        kustomization = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
        used |= {Path(c).name for c in kustomization.get("components", [])}
    assert set(COMPONENTS) <= used, f"components no overlay renders (so no test checks): {set(COMPONENTS) - used}"


def test_base_renders(kustomize: str) -> None:
    docs = render(kustomize, K8S / "base")
    kinds = Counter(d["kind"] for d in docs)
    assert kinds["Job"] == 2  # migrate, topics
    assert kinds["Deployment"] == len(declared_processes()) - 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_without_duplicates(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    dupes = [k for k, n in Counter(key(d) for d in docs).items() if n > 1]
    assert not dupes
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert len(namespaces) == 1 and None not in namespaces, f"resources outside one namespace: {namespaces}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly(rendered: dict[str, list[Doc]], rendered_files: dict[str, Path], overlay: str) -> None:
    out = kubernetes_validate(rendered_files[overlay])
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert not [line for line in lines if line.startswith(("ERROR", "FATAL"))], out.stdout
    # Only the custom kinds may go unvalidated ("Couldn't find schema"): a built-in kind with a mistyped
    # apiVersion would otherwise slip through as a warning.
    unvalidated = [line for line in lines if line.startswith("WARN")]
    assert all(any(f"kind {kind} " in line for kind in CUSTOM_KINDS) for line in unvalidated), unvalidated
    builtin = [d for d in rendered[overlay] if d["kind"] not in CUSTOM_KINDS]
    assert sum(line.startswith("INFO") for line in lines) == len(builtin)


def test_kubernetes_validate_rejects_a_broken_deployment(tmp_path: Path) -> None:
    broken = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
              "spec": {"replica": 1, "selector": {"matchLabels": {"a": "b"}},
                       "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    out = kubernetes_validate(path)
    assert out.returncode != 0 and "replica" in out.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_schemas(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for doc in rendered[overlay]:
        if "." not in doc["apiVersion"].split("/")[0] or doc["apiVersion"].split("/")[0].endswith("k8s.io"):
            continue  # built-in API group
        schema = schema_for(doc)
        assert schema is not None, f"{doc['apiVersion']} {doc['kind']}: no schema in tests/deploy/custom_resources.py"
        jsonschema.Draft202012Validator(schema).validate(doc)


@pytest.mark.parametrize("mutation, message", [
    (lambda d: d["spec"].update(partition=12), "Additional properties"),
    (lambda d: d["spec"].update(partitions="12"), "is not of type 'integer'"),
    (lambda d: d["metadata"].pop("labels"), "'labels' is a required property"),
])
def test_custom_resource_schemas_reject_mistakes(mutation, message: str) -> None:  # type: ignore[no-untyped-def]
    topic = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic",
             "metadata": {"name": "t", "labels": {"strimzi.io/cluster": "agora"}}, "spec": {"partitions": 3, "replicas": 1}}
    validator = jsonschema.Draft202012Validator(schema_for(topic))
    assert not list(validator.iter_errors(topic))
    mutation(topic)
    errors = [e.message for e in validator.iter_errors(topic)]
    assert any(message in e for e in errors), errors


def test_keda_trigger_metadata_must_be_strings() -> None:
    so = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "s"},
          "spec": {"scaleTargetRef": {"name": "d"}, "triggers": [{"type": "kafka", "metadata": {"lagThreshold": 5000}}]}}
    errors = list(jsonschema.Draft202012Validator(schema_for(so)).iter_errors(so))
    assert errors and "is not of type 'string'" in errors[0].message
