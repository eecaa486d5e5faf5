"""The running system for end-to-end tests: every `agora` process as a real subprocess on free ports,
on the test run's database and topic prefix, with the gateway in front. Started once per test run."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.catalog import TOPICS
from services.kit.topics import ensure_topics
from tests.support import infra, processes

SERVICES = ["profiles", "connections", "content", "voting"]
# Every relay and every consumer the services declare (handlers.CONSUMERS), as in production.
WORKERS = [("relay", s) for s in SERVICES] + [
    ("consume", s, name) for s in SERVICES for name in importlib.import_module(f"services.{s}.handlers").CONSUMERS
]


@dataclass
class System:
    env: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    procs: dict[str, processes.Proc] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.procs["gateway"].url

    def url(self, name: str) -> str:
        return self.procs[name].url


def trust_both(issuer_jwks: Path, signing_keys: Path, out: Path) -> None:
    """One JWKS with the profiles service's public keys and the test issuer's: services accept real
    sign-in tokens and the tokens tests mint for members that need no account."""
    private = json.loads(signing_keys.read_text())["keys"]
    public = [{k: v for k, v in key.items() if k not in ("d", "created_at")} for key in private]
    out.write_text(json.dumps({"keys": public + json.loads(issuer_jwks.read_text())["keys"]}))


@pytest.fixture(scope="session")
def system(test_infra: Any, issuer: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    keys_dir = tmp_path_factory.mktemp("signing")
    signing_keys = keys_dir / "signing-keys.json"
    subprocess.run([sys.executable, "-m", "services.profiles.keys", "generate", str(signing_keys)], check=True, capture_output=True)
    trust_both(test_infra.jwks_path, signing_keys, keys_dir / "jwks.json")
    # The running system has its own database and topic prefix: its consumers (e.g. the tally consumer's
    # group) must not share partitions or rows with the integration tests' own consumers in the same run.
    database = f"{test_infra.database}_sys"
    infra.run(infra.create_database(test_infra.admin_url, database))
    database_url = infra._with_db(test_infra.admin_url, database)
    prefix = f"{test_infra.prefix}sys."
    infra.migrate_all(database_url)
    infra.run(ensure_topics(test_infra.bootstrap, TOPICS, prefix))
    env = dict(test_infra.env, DATABASE_URL=database_url, AGORA_TOPIC_PREFIX=prefix,
               PROFILES_SIGNING_KEYS_FILE=str(signing_keys), AGORA_JWKS_URL=f"file://{keys_dir / 'jwks.json'}",
               PROFILES_ARGON2_TIME_COST="1", PROFILES_ARGON2_MEMORY_KIB="8192", PROFILES_ARGON2_PARALLELISM="1")
    sysm = System(env=env, prefix=prefix)
    try:
        for svc in SERVICES:
            sysm.procs[svc] = processes.start(svc, ["services.cli", "serve", svc], env)
        for w in WORKERS:
            name = "-".join(w[1:]) + ("-relay" if w[0] == "relay" else "")
            sysm.procs[name] = processes.start(name, ["services.cli", *w], env)
        # Every test request comes from 127.0.0.1: per-address write limits would throttle the suite itself.
        gw_env = dict(env, GATEWAY_RATE_LIMIT_SCALE="1000", **{f"GATEWAY_{s.upper()}_URL": sysm.procs[s].url for s in SERVICES})
        sysm.procs["gateway"] = processes.start("gateway", ["services.cli", "serve", "gateway"], gw_env)
        for p in sysm.procs.values():
            p.wait_ready(120)
        yield sysm
    finally:
        for p in sysm.procs.values():
            p.stop()
        infra.run(infra.drop_database(test_infra.admin_url, database))
