"""Token keys fetched over HTTP from a JWKS endpoint (as profiles publishes them): cached, refetched when a
token names a key id the gateway has not seen (a rotation), rate limited against forged key ids, and
still usable when the JWKS endpoint is down."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from gateway.config import Settings
from gateway.main import create_app
from tests.support import tokens
from tests.support.processes import free_port


async def test_keys_rotate_in_without_restart_and_forged_key_ids_cost_one_fetch(tmp_path: Path) -> None:
    old, new, never = (tokens.TestIssuer(tmp_path / f"{n}.json") for n in ("old", "new", "never"))
    published = [old]
    fetches = 0

    async def jwks(_: web.Request) -> web.Response:
        nonlocal fetches
        fetches += 1
        keys = [json.loads(Path(i.jwks_url[7:]).read_text())["keys"][0] for i in published]
        return web.json_response({"keys": keys})

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    async def upstream(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", profiles_url=f"http://127.0.0.1:{port}", streams_enabled=False,
                        jwks_refresh_seconds=0.2)
    gateway = create_app(settings, upstream_transports={n: httpx.MockTransport(upstream) for n in ("profiles", "connections", "content", "voting")})
    member = uuid.uuid4()
    try:
        async with gateway.router.lifespan_context(gateway):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw") as client:
                async def status(issuer: tokens.TestIssuer) -> Any:
                    r = await client.get("/v1/posts", headers=issuer.headers(member))
                    return r.status_code, r.json().get("error")

                assert await status(old) == (200, None) and fetches == 1
                assert await status(old) == (200, None) and fetches == 1  # cached

                published.append(new)  # profiles rotates a key in
                await asyncio.sleep(0.25)
                assert await status(new) == (200, None) and fetches == 2  # unknown key id: refetched

                answers = [await status(never) for _ in range(10)]  # forged key ids
                assert set(answers) == {(401, "invalid_token")}
                assert fetches <= 4, fetches  # at most one fetch per 0.2 s interval, not one per request

                await runner.cleanup()  # the JWKS endpoint goes away: cached keys keep working
                assert await status(new) == (200, None) and await status(old) == (200, None)
    finally:
        await runner.cleanup()
