"""Policy checks over every rendered overlay, and the checker itself run against broken documents
(a check that cannot fail checks nothing)."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.deploy import policy
from tests.deploy.manifests import DEPLOY, K8S, OVERLAYS, ROOT, Doc, containers, declared_processes, of_kind, workloads

PROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("check", policy.ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_complies(rendered: dict[str, list[Doc]], overlay: str, check: Callable[[list[Doc]], list[str]]) -> None:
    assert check(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_and_secret_references_resolve(rendered: dict[str, list[Doc]], operator_secrets: dict[str, set[str]], overlay: str) -> None:
    assert policy.check_config_references(rendered[overlay], operator_secrets) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agora_image_is_the_project_version(rendered: dict[str, list[Doc]], overlay: str) -> None:
    images = {c["image"] for _, tpl in workloads(rendered[overlay]) for c in containers(tpl["spec"])}
    agora = {i for i in images if re.fullmatch(r"(.*/)?agora[:@].*", i)}
    assert agora == {f"agora:{PROJECT_VERSION}"} or all("@sha256:" in i for i in agora), agora


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_is_deployed(rendered: dict[str, list[Doc]], overlay: str) -> None:
    commands = [" ".join(tpl["spec"]["containers"][0]["args"]) for _, tpl in workloads(rendered[overlay])]
    assert len(commands) == len(set(commands)), "a process is deployed twice"
    assert set(commands) == declared_processes(), "services/cli.py and the services' CONSUMERS declare these"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_rate_limits_know_the_replica_count(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    (config,) = of_kind(docs, "ConfigMap")
    gateway = next(d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == "gateway")
    # Each gateway replica enforces limit / GATEWAY_REPLICAS (gateway/ratelimits.py).
    assert int(config["data"].get("GATEWAY_REPLICAS", "1")) == gateway["spec"]["replicas"]
    # ... so nothing may change the count behind its back.
    assert not [s for s in of_kind(docs, "HorizontalPodAutoscaler", "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == "gateway"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_graceful_shutdown(rendered: dict[str, list[Doc]], overlay: str) -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind(rendered[overlay], "Deployment")}
    # The tally consumer finishes and commits its batch on SIGTERM.
    assert deployments["voting-tally"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60
    for name in ["profiles", "connections", "content", "voting", "gateway"]:
        pod = deployments[name]["spec"]["template"]["spec"]
        sleep = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert 0 < sleep < pod["terminationGracePeriodSeconds"]


def test_operator_provided_secrets_are_documented() -> None:
    listed = yaml.safe_load((K8S / "operator-provided.yaml").read_text())["secrets"]
    readme = (DEPLOY / "README.md").read_text()
    assert "deploy/k8s/operator-provided.yaml" in readme
    for secret in listed:
        assert secret["name"] in readme, f"deploy/README.md does not explain Secret {secret['name']}"
        assert secret["keys"] and secret["provided_by"] and secret["description"]


def test_no_key_material_is_committed() -> None:
    pattern = re.compile(r"BEGIN [A-Z ]*PRIVATE KEY|\"d\"\s*:\s*\"[A-Za-z0-9_-]{20,}")
    offenders = [str(p.relative_to(ROOT)) for p in DEPLOY.rglob("*")
                 if p.is_file() and "wheels" not in p.parts and "kafka-libs" not in p.parts
                 and p.suffix in {".yaml", ".yml", ".json", ".env", ".pem", ".key", ".md", ".py", ".sh", ""}
                 and pattern.search(p.read_text(errors="ignore"))]
    assert offenders == []


# --- the checker against broken documents --------------------------------------------------------

GOOD: list[Doc] = list(yaml.safe_load_all("""
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {LEVEL: INFO}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: web:1.0
          ports: [{name: http, containerPort: 8000}]
          envFrom: [{configMapRef: {name: web-config}}]
          env:
            - name: DATABASE_URL
              valueFrom: {secretKeyRef: {name: db, key: url}}
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 128Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
"""))
SECRETS = {"db": {"url"}}


def ctr(docs: list[Doc]) -> dict[str, Any]:
    return docs[2]["spec"]["template"]["spec"]["containers"][0]


BREAKAGES: dict[str, Callable[[list[Doc]], None]] = {
    "no readiness probe": lambda d: ctr(d).pop("readinessProbe"),
    "liveness on the wrong path": lambda d: ctr(d)["livenessProbe"]["httpGet"].update(path="/readyz"),
    "no memory limit": lambda d: ctr(d)["resources"]["limits"].pop("memory"),
    "runs as root": lambda d: d[2]["spec"]["template"]["spec"]["securityContext"].update(runAsNonRoot=False),
    "writable root filesystem": lambda d: ctr(d)["securityContext"].update(readOnlyRootFilesystem=False),
    "capabilities kept": lambda d: ctr(d)["securityContext"].pop("capabilities"),
    "no seccomp profile": lambda d: d[2]["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile"),
    "latest tag": lambda d: ctr(d).update(image="web:latest"),
    "untagged image": lambda d: ctr(d).update(image="registry.example/web"),
    "service selects nothing": lambda d: d[3]["spec"].update(selector={"app": "webb"}),
    "service targets a missing port": lambda d: d[3]["spec"]["ports"][0].update(targetPort="metrics"),
    "no pod disruption budget": lambda d: d[4]["spec"]["selector"].update(matchLabels={"app": "other"}),
    "missing service account": lambda d: d[2]["spec"]["template"]["spec"].update(serviceAccountName="ghost"),
    "hpa aims at nothing": lambda d: d[5]["spec"]["scaleTargetRef"].update(name="ghost"),
    "committed secret": lambda d: d.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"url": "x"}}),
}

REFERENCE_BREAKAGES: dict[str, Callable[[list[Doc]], None]] = {
    "unknown secret": lambda d: ctr(d)["env"][0]["valueFrom"]["secretKeyRef"].update(name="dbx"),
    "unknown secret key": lambda d: ctr(d)["env"][0]["valueFrom"]["secretKeyRef"].update(key="uri"),
    "unknown configmap": lambda d: ctr(d)["envFrom"][0]["configMapRef"].update(name="web-settings"),
    "unknown configmap key": lambda d: ctr(d)["env"].append({"name": "X", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "NOPE"}}}),
}


def run_all(docs: list[Doc]) -> list[str]:
    return [p for check in policy.ALL_CHECKS for p in check(docs)] + policy.check_config_references(docs, SECRETS)


def test_the_good_example_passes() -> None:
    assert run_all(GOOD) == []


@pytest.mark.parametrize("breakage", sorted(BREAKAGES | REFERENCE_BREAKAGES))
def test_each_breakage_is_caught(breakage: str) -> None:
    docs = copy.deepcopy(GOOD)
    (BREAKAGES | REFERENCE_BREAKAGES)[breakage](docs)
    assert run_all(docs), f"the checks did not notice: {breakage}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_database_url_comes_from_one_place(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    in_cluster = bool(of_kind(docs, "Cluster"))
    expected = {"name": "agora-db-app", "key": "uri"} if in_cluster else {"name": "agora-database", "key": "url"}
    for wl, tpl in workloads(docs):
        env = {e["name"]: e for e in tpl["spec"]["containers"][0].get("env", [])}
        if wl["metadata"]["name"] in {"gateway", "topics"}:
            assert "DATABASE_URL" not in env, "the gateway and the topics Job hold no database"
        else:
            assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == expected, wl["metadata"]["name"]
