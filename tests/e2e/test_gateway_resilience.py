"""An upstream killed mid-test on the running system: the gateway fails fast for that upstream only, and
recovers by itself when the upstream comes back (circuit breaker half-open probe)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from tests.conftest import wait_until
from tests.support import processes


async def test_a_killed_upstream_fails_fast_others_keep_working_and_it_recovers(system: Any, issuer: Any, test_infra: Any, unique: str) -> None:
    voting = system.procs["voting"]
    async with httpx.AsyncClient(base_url=system.gateway, timeout=15) as client:
        assert (await client.get(f"/v1/tallies/{uuid.uuid4()}")).status_code == 404  # voting answers

        voting.kill()
        started = time.monotonic()
        answers = await asyncio.gather(*(client.get(f"/v1/tallies/{uuid.uuid4()}") for _ in range(12)))
        vote = await client.post("/v1/votes", json={"target_id": str(uuid.uuid4()), "value": 1}, headers=issuer.headers(uuid.uuid4()))
        elapsed = time.monotonic() - started
        assert {a.status_code for a in answers} == {502} and vote.status_code == 502, [a.text for a in answers][:2]
        assert {a.json()["error"] for a in answers} <= {"upstream_unavailable", "circuit_open"}
        assert elapsed < 5.0, f"failing took {elapsed:.1f}s"

        r = await client.post("/v1/posts", json={"kind": "link", "title": f"Still up {unique}", "url": "https://example.org/up", "topics": ["news"]},
                              headers=issuer.headers(uuid.uuid4()))
        assert r.status_code == 201, r.text  # content is not affected by voting's outage

        revived = processes.start("voting", ["services.cli", "serve", "voting"], dict(system.env), extra_env={"VOTING_HTTP_PORT": str(voting.port)})
        revived.port = voting.port
        system.procs["voting"] = revived  # stopped with the system
        await asyncio.to_thread(revived.wait_ready, 60)

        async def recovered() -> bool:
            return (await client.get(f"/v1/tallies/{uuid.uuid4()}")).status_code == 404

        await wait_until(recovered, timeout=30, interval=0.5)
