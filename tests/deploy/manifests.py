"""Reading the rendered manifests: kustomize runs, documents by kind, pod templates and containers.

The deploy tests render each overlay once per session (see conftest.py) and hand the documents, as
plain dicts, to the checks in policy.py and netpol.py, which know nothing about files or processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
COMPONENTS = sorted(p.name for p in (K8S / "components").iterdir() if (p / "kustomization.yaml").is_file())

Doc = dict[str, Any]

# Workload kinds and where their pod template lives.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def declared_processes() -> set[str]:
    """Every long-running or one-shot process the code declares, as `agora` arguments: what must be deployed."""
    import importlib

    from services import cli

    processes = {"migrate", "topics"} | {f"serve {s}" for s in cli.HTTP} | {f"relay {s}" for s in cli.SERVICES}
    for service in cli.SERVICES:
        consumers = importlib.import_module(f"services.{service}.handlers").CONSUMERS
        processes |= {f"consume {service} {name}" for name in consumers}
    return processes


def kustomize_binary() -> str | None:
    """$AGORA_RUN_DIR/bin/kustomize (what deploy/tools/install-kustomize.sh installs), else PATH."""
    run_dir = Path(os.environ.get("AGORA_RUN_DIR", ROOT / ".run"))
    candidate = run_dir / "bin" / "kustomize"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("kustomize")


def render(kustomize: str, path: Path) -> list[Doc]:
    out = subprocess.run([kustomize, "build", str(path)], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"kustomize build {path.relative_to(ROOT)} failed:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def key(doc: Doc) -> tuple[str, str, str]:
    meta = doc.get("metadata", {})
    return doc["kind"], meta.get("namespace", ""), meta["name"]


def of_kind(docs: list[Doc], *kinds: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") in kinds]


def pod_template(doc: Doc) -> Doc | None:
    path = POD_TEMPLATE_PATHS.get(doc.get("kind", ""))
    if path is None:
        return None
    node: Any = doc
    for part in path:
        node = (node or {}).get(part)
    return node


def workloads(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, pod template) for every workload document."""
    for doc in docs:
        tpl = pod_template(doc)
        if tpl is not None:
            yield doc, tpl


def containers(pod_spec: Doc) -> list[Doc]:
    return list(pod_spec.get("initContainers") or []) + list(pod_spec.get("containers") or [])


def selector_matches(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions). An empty selector matches all."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        # A Service's selector is a plain map; a LabelSelector with neither field selects everything.
        if all(isinstance(v, str) for v in selector.values()) and selector:
            return all(labels.get(k) == v for k, v in selector.items())
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        k, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True
