"""Tokens are verified at the gateway: bad ones never reach an upstream; good ones travel with the identity."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support import tokens


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})


async def test_bad_tokens_get_401_at_the_gateway_without_reaching_the_upstream(gateway: Any, local_issuer: tokens.TestIssuer, tmp_path: Any) -> None:
    other = tokens.TestIssuer(tmp_path / "other.json")  # a key the JWKS does not publish
    member = uuid.uuid4()
    upstream = Recorder()
    async with gateway(upstream) as client:
        cases = {
            "Bearer forged.token.here": "invalid_token",
            f"Bearer {local_issuer.token(member, ttl=-60)}": "token_expired",
            f"Bearer {other.token(member)}": "invalid_token",
            f"Bearer {local_issuer.token(member, aud='someone-else')}": "invalid_token",
            "Basic dXNlcjpwdw==": "unauthenticated",
        }
        for header, code in cases.items():
            r = await client.post("/v1/votes", json={}, headers={"authorization": header})
            assert r.status_code == 401, (header, r.text)
            assert r.json()["error"] == code and r.json()["message"] and r.json()["trace_id"]
    assert upstream.requests == []


async def test_a_valid_token_travels_with_the_verified_member_and_anonymous_requests_pass(gateway: Any, local_issuer: tokens.TestIssuer) -> None:
    member = uuid.uuid4()
    upstream = Recorder()
    async with gateway(upstream) as client:
        r = await client.get("/v1/posts", headers={**local_issuer.headers(member), "x-agora-member-id": str(uuid.uuid4())})
        assert r.status_code == 200
        r = await client.get("/v1/posts", headers={"x-agora-member-id": str(member), "x-agora-client-origin": "spoofed"})
        assert r.status_code == 200
        r = await client.get("/v1/tallies/x", headers={"user-agent": "ua", "x-agora-client-origin": "spoofed"})
    signed, anonymous, voting = upstream.requests
    assert signed.headers["x-agora-member-id"] == str(member)
    assert signed.headers["authorization"].startswith("Bearer ")  # upstreams verify again
    assert "x-agora-member-id" not in anonymous.headers and "authorization" not in anonymous.headers
    assert voting.headers["x-agora-client-origin"] != "spoofed" and len(voting.headers["x-agora-client-device"]) == 32
    assert signed.headers["traceparent"].startswith("00-")


def test_token_keys_come_from_profiles_unless_a_jwks_url_is_configured() -> None:
    from gateway.config import Settings

    assert Settings(kafka_bootstrap_servers="k:9", profiles_url="http://profiles:8101/").jwks() == "http://profiles:8101/.well-known/jwks.json"
    assert Settings(kafka_bootstrap_servers="k:9", jwks_url="file:///keys.json").jwks() == "file:///keys.json"


async def test_paths_and_repeated_query_parameters_reach_the_upstream_as_sent(gateway: Any) -> None:
    upstream = Recorder()
    async with gateway(upstream) as client:
        assert (await client.get("/v1/search/a%2Fb", params=[("topic", "x"), ("topic", "y")])).status_code == 200
    (seen,) = upstream.requests
    assert seen.url.raw_path == b"/v1/search/a%2Fb?topic=x&topic=y"


async def test_cookies_set_by_one_callers_answer_never_travel_with_the_next(gateway: Any) -> None:
    seen: list[httpx.Request] = []

    async def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}, headers={"set-cookie": "refresh=secret; Path=/"})

    async with gateway(upstream) as client:
        await client.post("/v1/sessions", json={})
        client.cookies.clear()
        await client.get("/v1/profiles/x")
    assert "cookie" not in seen[1].headers
