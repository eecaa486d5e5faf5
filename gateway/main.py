"""The gateway's composition root.

`create_app(settings, upstream_transports=...)`: tests may hand in httpx transports (e.g. MockTransport)
per upstream; production uses the aiohttp-backed transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from gateway.config import Settings
from gateway.contracts import router as contracts_router
from gateway.identity import make_verifier
from gateway.openapi import install as install_openapi, warmed as openapi_warmed
from gateway.proxy import router as proxy_router
from gateway.ratelimits import TokenBuckets
from gateway.streams.api import router as streams_router
from gateway.streams.hub import streams
from gateway.upstreams import upstreams
from gateway.views import router as views_router
from services.kit.settings import load_settings
from services.kit.web import build_app


@asynccontextmanager
async def identity_and_limits(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.verifier = make_verifier(settings)  # AGORA_JWKS_URL, else profiles' /.well-known/jwks.json
    app.state.rate_limits = TokenBuckets(replicas=settings.replicas, scale=settings.rate_limit_scale)
    yield


def create_app(settings: Settings | None = None, *, upstream_transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    app = build_app(
        settings=settings,
        schema=None,
        title="Agora API",
        description="The one API for Agora's client apps: networking (profiles, connections, introductions) and sharing "
                    "(posts, comments, votes), and live event streams. Kafka topics and events: /asyncapi.json.",
        routers=[contracts_router, streams_router, views_router, proxy_router],  # views before the catch-all proxy
        extensions=[identity_and_limits, upstreams, *([streams] if settings.streams_enabled else []), openapi_warmed],
    )
    install_openapi(app)  # /openapi.json and /docs: the gateway's routes and every operation it forwards
    app.state.upstream_transports = upstream_transports
    return app
