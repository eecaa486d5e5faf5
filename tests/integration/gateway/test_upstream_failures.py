"""Real upstream processes that die or stall mid-test: the gateway answers fast with 502/504, never hangs."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from gateway.main import create_app
from tests.support import processes


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


@asynccontextmanager
async def gateway_for(settings_for: Callable[..., Any], **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for("gateway", streams_enabled=False, **overrides))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30) as client:
            yield client


async def test_an_upstream_killed_mid_test_gives_fast_502s_then_an_open_circuit(settings_for: Any, test_infra: Any) -> None:
    port = processes.free_port()
    upstream = processes.start("fake-content", ["http.server", str(port), "--bind", "127.0.0.1"], test_infra.env, http=False)
    try:
        wait_listening(port)
        nothing = f"http://127.0.0.1:{processes.free_port()}"
        async with gateway_for(settings_for, content_url=f"http://127.0.0.1:{port}", voting_url=nothing, breaker_failures=4, breaker_reset_seconds=30) as client:
            r = await client.get("/v1/posts")
            assert r.status_code == 404  # reachable: the upstream's own status is kept
            upstream.kill()
            started = time.monotonic()
            answers = await asyncio.gather(*(client.get("/v1/posts") for _ in range(10)))
            r = await client.post("/v1/posts", json={"title": "x"})
            elapsed = time.monotonic() - started
            assert {a.status_code for a in answers} == {502} and r.status_code == 502
            assert {a.json()["error"] for a in answers} <= {"upstream_unavailable", "circuit_open"}
            assert r.json()["error"] == "circuit_open" and int(r.headers["retry-after"]) >= 1
            assert elapsed < 3.0, f"failing took {elapsed:.1f}s"
            assert (await client.get("/v1/tallies/x")).status_code == 502  # nothing listens for voting: its own breaker, its own 502
    finally:
        upstream.kill()


async def test_an_upstream_that_accepts_but_never_answers_gives_504_within_the_deadline(settings_for: Any, test_infra: Any) -> None:
    port = processes.free_port()
    code = f"import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(100)\ntime.sleep(120)"
    stalled_proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_listening(port)
        async with gateway_for(settings_for, voting_url=f"http://127.0.0.1:{port}", upstream_timeout_seconds=0.3, upstream_retries=1) as client:
            started = time.monotonic()
            r = await client.get("/v1/tallies/x")
            assert r.status_code == 504 and r.json()["error"] == "upstream_timeout"
            r = await client.post("/v1/votes", json={})
            assert r.status_code == 504
            assert time.monotonic() - started < 2.5  # two GET attempts + one POST attempt, 0.3 s each
    finally:
        stalled_proc.kill()
        stalled_proc.wait(5)
