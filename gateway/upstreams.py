"""One shared HTTP client per upstream service, on an aiohttp-backed httpx transport.

httpx's default transport collapses under concurrent fan-out on this class of machine (≈11× slower than
aiohttp, encode/httpx #3215; see bench/); the httpx API is kept, the transport is aiohttp's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from httpx_aiohttp import AiohttpTransport

from gateway.config import Settings

NAMES = ("profiles", "connections", "content", "voting")


def make_client(base_url: str, settings: Settings) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=settings.upstream_max_connections, max_keepalive_connections=settings.upstream_max_connections)
    return httpx.AsyncClient(
        base_url=base_url,
        transport=AiohttpTransport(limits=limits),
        timeout=httpx.Timeout(settings.upstream_timeout_seconds, connect=2.0),
        limits=limits,
    )


@asynccontextmanager
async def upstreams(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.upstreams = {name: make_client(getattr(settings, f"{name}_url"), settings) for name in NAMES}
    try:
        yield
    finally:
        for client in app.state.upstreams.values():
            await client.aclose()
