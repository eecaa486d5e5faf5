"""Rate limits on writes: per member and per address token buckets, divided across replicas, 429 + Retry-After."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from gateway.ratelimits import Limit, Rate, TokenBuckets
from services.kit.errors import TooManyRequests
from tests.support import tokens


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    b = TokenBuckets(clock=clock)
    limit = Limit("votes", Rate(3, 60), None)
    for _ in range(3):
        b.check(limit, member=None, address="a")  # per_member None, per_address None: nothing limited
    limit = Limit("votes", Rate(3, 60), Rate(100, 60))
    for _ in range(3):
        b.check(limit, member="m", address="a")
    with pytest.raises(TooManyRequests) as refused:
        b.check(limit, member="m", address="a")
    assert refused.value.detail == {"limit": "votes", "scope": "member"}
    assert refused.value.headers["Retry-After"] == "20"  # one token per 20 s
    b.check(limit, member="other", address="a")  # another member is not affected
    clock.now += 20
    b.check(limit, member="m", address="a")
    with pytest.raises(TooManyRequests):
        b.check(limit, member="m", address="a")


def test_the_address_bucket_limits_anonymous_and_signed_in_callers_alike() -> None:
    b = TokenBuckets(clock=Clock())
    limit = Limit("logins", None, Rate(2, 60))
    b.check(limit, member=None, address="1.2.3.4")
    b.check(limit, member="m", address="1.2.3.4")
    with pytest.raises(TooManyRequests) as refused:
        b.check(limit, member="n", address="1.2.3.4")
    assert refused.value.detail["scope"] == "address"
    b.check(limit, member=None, address="5.6.7.8")


def test_a_refused_request_charges_neither_bucket() -> None:
    b = TokenBuckets(clock=Clock())
    limit = Limit("posts", Rate(1, 60), Rate(2, 60))
    b.check(limit, member="m", address="a")
    with pytest.raises(TooManyRequests):
        b.check(limit, member="m", address="a")  # member empty: the address bucket must not be charged
    b.check(limit, member="n", address="a")


def test_replicas_share_the_limit_so_the_fleet_never_admits_more_than_it() -> None:
    clock = Clock()
    fleet = [TokenBuckets(replicas=3, clock=clock) for _ in range(3)]
    limit = Limit("votes", Rate(30, 60), None)
    admitted = 0
    for i in range(300):  # round-robin over the replicas, as a load balancer would
        try:
            fleet[i % 3].check(limit, member="m", address="a")
            admitted += 1
        except TooManyRequests:
            pass
    assert admitted == 30


async def test_the_gateway_answers_429_in_the_error_shape_without_calling_the_upstream(gateway: Any, local_issuer: tokens.TestIssuer) -> None:
    calls: list[httpx.Request] = []

    async def upstream(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(202, json={"vote_id": str(uuid.uuid4())})

    member = uuid.uuid4()
    async with gateway(upstream) as client:
        client.app.state.rate_limits = TokenBuckets(clock=Clock())  # type: ignore[attr-defined] - time stands still: no refill
        statuses = [(await client.post("/v1/sessions", json={"email": "a@b.org", "password": "x"})).status_code for _ in range(31)]
        assert statuses == [202] * 30 + [429]
        r = await client.post("/v1/sessions", json={})
        assert r.status_code == 429 and r.json()["error"] == "rate_limited" and r.json()["detail"] == {"limit": "logins", "scope": "address"}
        assert int(r.headers["retry-after"]) >= 1 and r.json()["trace_id"]
        assert len(calls) == 30
        assert (await client.get("/v1/posts")).status_code == 202  # reads are not limited
        for _ in range(120):
            assert (await client.post("/v1/votes", json={}, headers=local_issuer.headers(member))).status_code == 202
        r = await client.post("/v1/votes", json={}, headers=local_issuer.headers(member))
        assert r.status_code == 429 and r.json()["detail"]["scope"] == "member"
        assert (await client.post("/v1/votes", json={}, headers=local_issuer.headers(uuid.uuid4()))).status_code == 202
