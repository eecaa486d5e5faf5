"""Kafka unreachable: the gateway still starts and proxies; only the streams answer 503 (and /readyz stays ready)."""

from __future__ import annotations

import time

import httpx

from gateway.config import Settings
from gateway.main import create_app
from tests.support.processes import free_port


async def test_without_kafka_the_api_works_and_streams_answer_503() -> None:
    async def upstream(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[])

    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", stream_connect_wait_seconds=0.3)
    app = create_app(settings, upstream_transports={n: httpx.MockTransport(upstream) for n in ("profiles", "connections", "content", "voting")})
    started = time.monotonic()
    async with app.router.lifespan_context(app):
        assert time.monotonic() - started < 5
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            assert (await client.get("/v1/posts")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            r = await client.get("/v1/streams/topic:news")
            assert r.status_code == 503 and r.json()["error"] == "streams_unavailable" and r.headers["retry-after"] == "5"
