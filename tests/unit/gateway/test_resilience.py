"""Upstream calls: deadlines, retries for idempotent methods only, the circuit breaker, 502 vs 504."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.resilience import CircuitBreaker, RetryPolicy, State


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_lets_one_probe_through_after_the_reset() -> None:
    clock = Clock()
    b = CircuitBreaker(failures_to_open=3, reset_seconds=5, clock=clock)
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    b.record_success()  # a success in between resets the count: failures must be consecutive
    for _ in range(3):
        assert b.allow()
        b.record_failure()
    assert b.state is State.OPEN and not b.allow()
    assert 4.9 < b.retry_after() <= 5
    clock.now += 5
    assert b.state is State.HALF_OPEN
    assert b.allow()          # the probe
    assert not b.allow()      # nobody else while it is in flight
    b.record_failure()        # probe failed: open again for a full period
    assert b.state is State.OPEN and not b.allow()
    clock.now += 5
    assert b.allow()
    b.record_success()
    assert b.state is State.CLOSED and b.allow() and b.allow()


def test_only_idempotent_methods_are_retried_and_backoff_is_jittered_and_capped() -> None:
    p = RetryPolicy(retries=2, backoff_seconds=0.1, max_backoff_seconds=0.3)
    assert [p.attempts(m) for m in ("GET", "HEAD", "PUT", "DELETE", "POST", "PATCH")] == [3, 3, 3, 3, 1, 1]
    assert p.delay(0, rng=lambda: 0.999) < 0.1 and p.delay(1, rng=lambda: 0.999) < 0.2
    assert p.delay(5, rng=lambda: 0.999) < 0.3 and p.delay(3, rng=lambda: 0.0) == 0.0


class Script:
    """A MockTransport handler answering from a list of outcomes (responses or exceptions), counting calls."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        if callable(outcome):
            return await outcome(request)
        return outcome


async def test_get_is_retried_after_a_transport_failure_and_post_is_not(gateway: Any) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": True}))
    async with gateway(script) as client:
        r = await client.get("/v1/posts/abc")
        assert r.status_code == 200 and r.json() == {"ok": True} and len(script.calls) == 2
    script = Script(httpx.ConnectError("refused"), httpx.Response(201, json={"ok": True}))
    async with gateway(script) as client:
        r = await client.post("/v1/posts", json={"title": "x"})
    assert r.status_code == 502 and r.json()["error"] == "upstream_unavailable" and "content" in r.json()["message"]
    assert len(script.calls) == 1  # a POST may have been applied: never repeated


async def test_unreachable_is_502_slow_is_504_and_upstream_errors_are_kept(gateway: Any) -> None:
    async with gateway(Script(httpx.ConnectError("refused")), upstream_retries=0) as client:
        r = await client.get("/v1/tallies/x")
        assert r.status_code == 502 and r.json()["error"] == "upstream_unavailable" and r.json()["trace_id"]

    async def slow(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    async with gateway(Script(slow), upstream_retries=0, upstream_timeout_seconds=0.05) as client:
        r = await client.get("/v1/tallies/x")
        assert r.status_code == 504 and r.json()["error"] == "upstream_timeout"

    async with gateway(Script(httpx.ReadTimeout("read")), upstream_retries=1) as client:
        assert (await client.get("/v1/tallies/x")).status_code == 504

    body = {"error": "target_not_found", "message": "no such target", "trace_id": "t"}
    unavailable = {"error": "not_ready", "message": "dependencies are not ready"}
    script = Script(httpx.Response(404, json=body))
    async with gateway(script) as client:
        r = await client.get("/v1/tallies/x")
        assert r.status_code == 404 and r.json() == body and len(script.calls) == 1  # a 4xx is an answer, not a failure
    script = Script(httpx.Response(503, json=unavailable, headers={"retry-after": "3"}))
    async with gateway(script, upstream_retries=2) as client:
        r = await client.get("/v1/tallies/x")
        assert r.status_code == 503 and r.json() == unavailable and r.headers["retry-after"] == "3"
        assert len(script.calls) == 3  # retried, then the upstream's own answer is kept


async def test_an_open_circuit_fails_fast_without_calling_the_upstream_then_probes(gateway: Any) -> None:
    script = Script(httpx.ConnectError("refused"))
    async with gateway(script, upstream_retries=0, breaker_failures=3, breaker_reset_seconds=0.2) as client:
        for _ in range(3):
            assert (await client.get("/v1/posts")).json()["error"] == "upstream_unavailable"
        assert len(script.calls) == 3
        r = await client.get("/v1/posts")
        assert r.status_code == 502 and r.json()["error"] == "circuit_open" and int(r.headers["retry-after"]) >= 1
        assert len(script.calls) == 3  # not even tried
        assert (await client.get("/v1/tallies/x")).json()["error"] == "upstream_unavailable"  # voting has its own breaker
        await asyncio.sleep(0.25)
        script.outcomes = [httpx.Response(200, json=[])]
        assert (await client.get("/v1/posts")).status_code == 200  # the half-open probe succeeded: closed again
        assert (await client.get("/v1/posts")).status_code == 200


async def test_an_upstream_shedding_load_does_not_open_the_circuit(gateway: Any) -> None:
    overloaded = {"error": "overloaded", "message": "the service is at capacity", "trace_id": "t"}
    script = Script(*[httpx.Response(503, json=overloaded, headers={"retry-after": "1"})] * 6, httpx.Response(202, json={"vote_id": "v"}))
    async with gateway(script, upstream_retries=0, breaker_failures=3) as client:
        for _ in range(6):
            r = await client.post("/v1/votes", json={"target_id": "t", "value": 1})
            assert r.status_code == 503 and r.json()["error"] == "overloaded" and r.headers["retry-after"] == "1"
        assert (await client.post("/v1/votes", json={"target_id": "t", "value": 1})).status_code == 202  # still closed
    assert len(script.calls) == 7
    script = Script(*[httpx.Response(503, json={"error": "unavailable", "message": "down"})] * 3)
    async with gateway(script, upstream_retries=0, breaker_failures=3) as client:
        for _ in range(3):
            await client.post("/v1/votes", json={"target_id": "t", "value": 1})
        assert (await client.post("/v1/votes", json={"target_id": "t", "value": 1})).json()["error"] == "circuit_open"  # a plain 503 counts


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_and_delete_are_retried(gateway: Any, method: str) -> None:
    script = Script(httpx.Response(502), httpx.Response(204))
    async with gateway(script) as client:
        r = await client.request(method, "/v1/follows/x")
    assert r.status_code == 204 and len(script.calls) == 2


async def test_a_probe_cancelled_by_its_caller_does_not_wedge_the_circuit() -> None:
    """A view gives up on a slow enrichment call: if that call was the half-open probe, the next call must
    still be let through (before, the probe slot stayed taken and the circuit never closed again)."""
    from gateway.upstreams import Upstream

    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=1, reset_seconds=5, clock=clock)
    stall = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            await stall.wait()
        return httpx.Response(200, json={})

    upstream = Upstream("voting", "http://voting", httpx.MockTransport(handler), policy=RetryPolicy(retries=0), breaker=breaker, timeout=5)
    breaker.record_failure()
    clock.now += 6  # half-open: one probe may go
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await upstream.request("GET", "/slow")
    assert (await upstream.request("GET", "/fast")).status_code == 200
    assert breaker.state is State.CLOSED
