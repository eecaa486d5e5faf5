"""Abuse the gateway refuses by itself, before anything reaches an upstream: oversized bodies (with or
without a Content-Length) and unknown resources. Bad tokens: test_identity.py; streams: test_streams.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

LIMIT = 1 << 20  # kit.web's body limit, which the gateway is built with


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(201, json={"ok": True})


async def test_a_body_over_the_limit_is_413_and_never_forwarded(gateway: Any) -> None:
    upstream = Recorder()
    async with gateway(upstream) as client:
        r = await client.post("/v1/posts", content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large" and r.json()["trace_id"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(5):
                yield b"x" * (LIMIT // 4)

        r = await client.post("/v1/posts", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
        assert upstream.requests == []
        r = await client.post("/v1/posts", content=b"x" * LIMIT, headers={"content-type": "application/json"})
        assert r.status_code == 201  # exactly the limit is allowed through
    assert len(upstream.requests) == 1


async def test_an_unknown_resource_is_404_and_never_forwarded(gateway: Any) -> None:
    upstream = Recorder()
    async with gateway(upstream) as client:
        for path in ("/v1/nothing", "/v1/nothing/deeper", "/v2/posts"):
            r = await client.get(path)
            assert r.status_code == 404 and r.json()["error"] in ("route_not_found", "not_found"), (path, r.text)
    assert upstream.requests == []
