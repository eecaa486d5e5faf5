"""The running system for end-to-end tests: every `agora` process as a real subprocess on free ports,
on the test run's database and topic prefix, with the gateway in front. Started once per test run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import processes

SERVICES = ["profiles", "connections", "content", "voting"]
WORKERS = [
    ("relay", "profiles"), ("relay", "connections"), ("relay", "content"), ("relay", "voting"),
    ("consume", "connections", "events"), ("consume", "voting", "events"), ("consume", "voting", "tally"),
]


@dataclass
class System:
    procs: dict[str, processes.Proc] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.procs["gateway"].url

    def url(self, name: str) -> str:
        return self.procs[name].url


@pytest.fixture(scope="session")
def system(test_infra: Any, issuer: Any) -> Iterator[System]:
    env = dict(test_infra.env)
    sysm = System()
    try:
        for svc in SERVICES:
            sysm.procs[svc] = processes.start(svc, ["services.cli", "serve", svc], env)
        for w in WORKERS:
            name = "-".join(w[1:]) + ("-relay" if w[0] == "relay" else "")
            sysm.procs[name] = processes.start(name, ["services.cli", *w], env)
        gw_env = dict(env, **{f"GATEWAY_{s.upper()}_URL": sysm.procs[s].url for s in SERVICES})
        sysm.procs["gateway"] = processes.start("gateway", ["services.cli", "serve", "gateway"], gw_env)
        for p in sysm.procs.values():
            p.wait_ready(60)
        yield sysm
    finally:
        for p in sysm.procs.values():
            p.stop()
