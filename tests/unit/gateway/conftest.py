"""A gateway app in-process over ASGI, its upstreams replaced by httpx.MockTransport handlers (no I/O)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.main import create_app
from tests.support.tokens import TestIssuer

Handler = Callable[[httpx.Request], Any]


@pytest.fixture
def local_issuer(tmp_path: Path) -> TestIssuer:
    return TestIssuer(tmp_path / "jwks.json")


@pytest.fixture
def gateway(local_issuer: TestIssuer) -> Callable[..., Any]:
    """gateway(handler, **settings) -> async context manager yielding an httpx client on the app."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(handler: Handler, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = dict(kafka_bootstrap_servers="127.0.0.1:9", jwks_url=local_issuer.jwks_url, streams_enabled=False,
                                      upstream_backoff_seconds=0.001)
        values.update(overrides)
        transports = {name: httpx.MockTransport(handler) for name in ("profiles", "connections", "content", "voting")}
        app = create_app(Settings(**values), upstream_transports=transports)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return make
