"""Policy checks over rendered Kubernetes documents. Each check returns a list of violations (strings
naming the resource and what is wrong); an empty list means the documents comply.

What every Agora workload must have (deploy/README.md, "What the manifests guarantee"):
  - liveness on GET /healthz and readiness on GET /readyz (long-running workloads; Jobs run to completion)
  - CPU and memory requests and limits
  - runAsNonRoot, a read-only root filesystem, no privilege escalation, all capabilities dropped,
    the RuntimeDefault seccomp profile
  - an image pinned by tag or digest, never `latest`
and around them: Service selectors that match a pod template (and named target ports that exist),
a PodDisruptionBudget per Deployment, ServiceAccounts that exist, ConfigMap/Secret references that
resolve (or name an operator-provided Secret), autoscalers aimed at existing Deployments, and no Secret
values in the manifests at all.
"""

from __future__ import annotations

from typing import Any

from tests.deploy.manifests import Doc, containers, of_kind, selector_matches, workloads

LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}


def name(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _get(node: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def check_containers(docs: list[Doc]) -> list[str]:
    problems: list[str] = []
    for wl, tpl in workloads(docs):
        pod = tpl.get("spec") or {}
        pod_sec = pod.get("securityContext") or {}
        for c in containers(pod):
            where = f"{name(wl)} container {c.get('name')}"
            sec = c.get("securityContext") or {}
            if wl["kind"] in LONG_RUNNING:
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    got = _get(c, probe, "httpGet", "path")
                    if got != path:
                        problems.append(f"{where}: {probe} must be an HTTP GET on {path} (got {got!r})")
            for kind in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if not _get(c, "resources", kind, res):
                        problems.append(f"{where}: no {kind}.{res}")
            non_root = sec.get("runAsNonRoot", pod_sec.get("runAsNonRoot"))
            if non_root is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if sec.get("runAsUser", pod_sec.get("runAsUser")) == 0:
                problems.append(f"{where}: runs as uid 0")
            if sec.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if sec.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if sec.get("privileged"):
                problems.append(f"{where}: privileged")
            if "ALL" not in (_get(sec, "capabilities", "drop") or []):
                problems.append(f"{where}: capabilities.drop does not include ALL")
            if _get(sec, "capabilities", "add"):
                problems.append(f"{where}: adds capabilities {sec['capabilities']['add']}")
            seccomp = _get(sec, "seccompProfile", "type") or _get(pod_sec, "seccompProfile", "type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where}: seccompProfile is {seccomp!r}, not RuntimeDefault")
            problems += [f"{where}: {p}" for p in check_image(c.get("image", ""))]
    return problems


def check_image(image: str) -> list[str]:
    """An image must be pinned: a tag other than `latest`, or a digest."""
    if not image:
        return ["no image"]
    if "@sha256:" in image:
        return []
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return [f"image {image!r} has no tag (means latest)"]
    if last.rsplit(":", 1)[1] == "latest":
        return [f"image {image!r} uses the latest tag"]
    return []


def check_services(docs: list[Doc]) -> list[str]:
    problems: list[str] = []
    templates = [(wl, tpl) for wl, tpl in workloads(docs)]
    for svc in of_kind(docs, "Service"):
        selector = _get(svc, "spec", "selector")
        if not selector:
            problems.append(f"{name(svc)}: no selector")
            continue
        ns = svc["metadata"].get("namespace", "")
        matched = [(wl, tpl) for wl, tpl in templates
                   if wl["metadata"].get("namespace", "") == ns
                   and selector_matches(selector, _get(tpl, "metadata", "labels") or {})]
        if not matched:
            problems.append(f"{name(svc)}: selector {selector} matches no pod template")
            continue
        for port in _get(svc, "spec", "ports") or []:
            target = port.get("targetPort", port.get("port"))
            for wl, tpl in matched:
                declared = [p for c in containers(tpl["spec"]) for p in c.get("ports") or []]
                ok = any(p.get("name") == target for p in declared) if isinstance(target, str) \
                    else any(p.get("containerPort") == target for p in declared)
                if not ok:
                    problems.append(f"{name(svc)}: targetPort {target!r} is not a port of {name(wl)}")
    return problems


def check_pdbs(docs: list[Doc]) -> list[str]:
    problems: list[str] = []
    pdbs = of_kind(docs, "PodDisruptionBudget")
    deployments = of_kind(docs, "Deployment")
    for dep in deployments:
        labels = _get(dep, "spec", "template", "metadata", "labels") or {}
        if not any(selector_matches(_get(p, "spec", "selector"), labels) for p in pdbs):
            problems.append(f"{name(dep)}: no PodDisruptionBudget selects its pods")
    for pdb in pdbs:
        if not any(selector_matches(_get(pdb, "spec", "selector"), _get(d, "spec", "template", "metadata", "labels") or {})
                   for d in deployments):
            problems.append(f"{name(pdb)}: selects no Deployment's pods")
    for wl, tpl in workloads(docs):
        sel = _get(wl, "spec", "selector")
        if wl["kind"] in LONG_RUNNING and not selector_matches(sel, _get(tpl, "metadata", "labels") or {}):
            problems.append(f"{name(wl)}: spec.selector does not match its own pod template labels")
    return problems


def check_service_accounts(docs: list[Doc]) -> list[str]:
    accounts = {d["metadata"]["name"] for d in of_kind(docs, "ServiceAccount")}
    problems = []
    for wl, tpl in workloads(docs):
        sa = _get(tpl, "spec", "serviceAccountName")
        if not sa or sa == "default":
            problems.append(f"{name(wl)}: runs as the namespace's default ServiceAccount")
        elif sa not in accounts:
            problems.append(f"{name(wl)}: ServiceAccount {sa!r} does not exist")
        if _get(tpl, "spec", "automountServiceAccountToken") is not False:
            problems.append(f"{name(wl)}: mounts a Kubernetes API token it does not need")
    return problems


def check_config_references(docs: list[Doc], operator_secrets: dict[str, set[str]]) -> list[str]:
    """Every ConfigMap reference resolves to a ConfigMap (and key) in the documents; every Secret
    reference resolves to a Secret in the documents or to one listed as operator-provided (with the key)."""
    configmaps = {d["metadata"]["name"]: set((d.get("data") or {}) | (d.get("binaryData") or {}))
                  for d in of_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: set((d.get("data") or {}) | (d.get("stringData") or {}))
               for d in of_kind(docs, "Secret")}
    for secret_name, keys in operator_secrets.items():
        secrets.setdefault(secret_name, set()).update(keys)
    problems: list[str] = []

    def need(kind: str, ref_name: str, ref_key: str | None, where: str, optional: bool) -> None:
        table = configmaps if kind == "ConfigMap" else secrets
        if optional:
            return
        if ref_name not in table:
            problems.append(f"{where}: {kind} {ref_name!r} is neither in the manifests nor operator-provided")
        elif ref_key is not None and ref_key not in table[ref_name]:
            problems.append(f"{where}: {kind} {ref_name!r} has no key {ref_key!r}")

    for wl, tpl in workloads(docs):
        pod = tpl.get("spec") or {}
        for c in containers(pod):
            where = f"{name(wl)} container {c.get('name')}"
            for src in c.get("envFrom") or []:
                if "configMapRef" in src:
                    need("ConfigMap", src["configMapRef"]["name"], None, where, bool(src["configMapRef"].get("optional")))
                if "secretRef" in src:
                    need("Secret", src["secretRef"]["name"], None, where, bool(src["secretRef"].get("optional")))
            for env in c.get("env") or []:
                ref = env.get("valueFrom") or {}
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    need("ConfigMap", r["name"], r["key"], f"{where} env {env['name']}", bool(r.get("optional")))
                if "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    need("Secret", r["name"], r["key"], f"{where} env {env['name']}", bool(r.get("optional")))
        for vol in pod.get("volumes") or []:
            where = f"{name(wl)} volume {vol['name']}"
            if "configMap" in vol:
                cm = vol["configMap"]
                for item in cm.get("items") or [None]:
                    need("ConfigMap", cm["name"], item and item["key"], where, bool(cm.get("optional")))
            if "secret" in vol:
                s = vol["secret"]
                for item in s.get("items") or [None]:
                    need("Secret", s["secretName"], item and item["key"], where, bool(s.get("optional")))
    return problems


def check_no_secret_values(docs: list[Doc]) -> list[str]:
    return [f"{name(d)}: the manifests carry secret values" for d in of_kind(docs, "Secret")
            if d.get("data") or d.get("stringData")]


def check_autoscaler_targets(docs: list[Doc]) -> list[str]:
    deployments = {d["metadata"]["name"] for d in of_kind(docs, "Deployment")}
    problems: list[str] = []
    targeted: dict[str, str] = {}
    for scaler in of_kind(docs, "HorizontalPodAutoscaler", "ScaledObject"):
        target = _get(scaler, "spec", "scaleTargetRef", "name")
        if target not in deployments:
            problems.append(f"{name(scaler)}: scales {target!r}, which is not a Deployment here")
        if target in targeted:
            problems.append(f"{name(scaler)} and {targeted[target]} both scale {target!r}")
        targeted[target] = name(scaler)
    return problems


ALL_CHECKS = (check_containers, check_services, check_pdbs, check_service_accounts, check_no_secret_values,
              check_autoscaler_targets)
