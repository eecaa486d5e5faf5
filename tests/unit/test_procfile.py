"""`make run` starts every process the code declares: each service's API and relay, every consumer."""

import importlib
import re
from pathlib import Path

from services.cli import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_procfile_runs_every_declared_process() -> None:
    commands = set()
    ports = []
    for line in (ROOT / "deploy/local/Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            _, command = line.split(":", 1)
            ports += re.findall(r"AGORA_HEALTH_PORT=(\d+)", command)
            commands.add(re.sub(r"^\s*(\w+=\S+\s+)*", "", command).strip())
    expected = {f"agora serve {s}" for s in [*SERVICES, "gateway"]} | {f"agora relay {s}" for s in SERVICES}
    for s in SERVICES:
        expected |= {f"agora consume {s} {name}" for name in importlib.import_module(f"services.{s}.handlers").CONSUMERS}
    assert commands == expected
    assert len(ports) == len(set(ports))
    run = (ROOT / "deploy/local/run.sh").read_text()
    low, high = map(int, re.search(r"for p in \$\(seq (\d+) (\d+)\)", run).groups())
    assert {int(p) for p in ports} == set(range(low, high + 1)), "run.sh must wait for every worker's health port"
