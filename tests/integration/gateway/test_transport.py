"""The gateway's aiohttp-backed httpx transport against a real local server: bodies, headers, compression,
and errors mapped to what they are (a refused connection is unreachable, not slow)."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest
from aiohttp import web

from gateway.transport import LeanAiohttpTransport
from gateway.upstreams import is_timeout
from tests.support.processes import free_port


@pytest.fixture
async def server() -> object:
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"method": request.method, "body": body.decode(), "query": dict(request.query),
                                  "auth": request.headers.get("authorization")}, status=201, headers={"etag": '"v1"'})

    async def zipped(_: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b'{"ok": true}'), headers={"content-encoding": "gzip", "content-type": "application/json"})

    async def stall(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/zipped", zipped)
    app.router.add_get("/stall", stall)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_requests_and_responses_pass_through_intact(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, transport=LeanAiohttpTransport()) as client:
        r = await client.post("/echo", params={"a": "1 2"}, content=b'{"x": 1}', headers={"authorization": "Bearer t"})
        assert r.status_code == 201 and r.headers["etag"] == '"v1"'
        assert r.json() == {"method": "POST", "body": '{"x": 1}', "query": {"a": "1 2"}, "auth": "Bearer t"}
        r = await client.get("/zipped")
        assert r.json() == {"ok": True}


async def test_refused_is_a_connect_error_and_slow_is_a_timeout(server: str) -> None:
    async with httpx.AsyncClient(transport=LeanAiohttpTransport(), timeout=httpx.Timeout(0.2)) as client:
        with pytest.raises(httpx.ConnectError) as refused:
            await client.get(f"http://127.0.0.1:{free_port()}/")
        assert not is_timeout(refused.value)
        with pytest.raises(httpx.ReadTimeout) as slow:
            await client.get(f"{server}/stall")
        assert is_timeout(slow.value)
