"""Real processes for integration and end-to-end tests: `agora serve|relay|consume` as subprocesses.

Each is started with the test run's environment (database, topic prefix, JWKS) and a free port, and
waited for on its /readyz. `kill()` sends SIGKILL (crash tests); `stop()` SIGTERM then waits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".run" / "logs" / "tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int | None
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; log:\n{self.log.read_text()[-3000:]}")
            if self.port is None:
                return
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; log:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode


def start(name: str, args: list[str], env: dict[str, str], *, http: bool = True, extra_env: dict[str, str] | None = None) -> Proc:
    """Start `python -m <args>` with the test env; HTTP processes get a free port (serve: *_HTTP_PORT, workers: AGORA_HEALTH_PORT)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port() if http else None
    full = dict(os.environ)
    full.update(env)
    if port is not None:
        if args[:2] == ["services.cli", "serve"]:
            full[f"{args[2].upper()}_HTTP_PORT"] = str(port)
        else:
            full["AGORA_HEALTH_PORT"] = str(port)
    full.update(extra_env or {})
    log = LOGS / f"{name}-{int(time.time() * 1000)}.log"
    with log.open("wb") as fh:  # the child keeps its own descriptor
        popen = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=full, stdout=fh, stderr=subprocess.STDOUT)
    return Proc(name, popen, port, log)
