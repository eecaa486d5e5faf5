"""The gateway's upstream services: one shared HTTP client each, on an aiohttp-backed httpx transport
(`gateway.transport`), behind a per-upstream deadline, retry policy and circuit breaker (`gateway.resilience`).

httpx's default transport collapses under concurrent fan-out on this class of machine (≈11× slower than
aiohttp, encode/httpx #3215; see bench/gateway_fanout.py); the httpx API is kept, the transport is aiohttp's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from gateway.config import Settings
from gateway.resilience import RETRYABLE_STATUSES, CircuitBreaker, RetryPolicy
from gateway.transport import LeanAiohttpTransport, UpstreamResponse
from services.kit.errors import BadGateway, GatewayTimeout

NAMES = ("profiles", "connections", "content", "voting")
# An upstream's answer: status_code, headers (.items(), .get()), content, json(). The production transport's
# fast path gives an UpstreamResponse; any other transport (tests' MockTransport) an httpx.Response.
Answer = httpx.Response | UpstreamResponse
log = logging.getLogger("agora.gateway.upstream")


def make_transport(settings: Settings) -> httpx.AsyncBaseTransport:
    return LeanAiohttpTransport(max_connections=settings.upstream_max_connections)


def is_timeout(exc: BaseException) -> bool:
    """Was this failure slowness (→ 504) rather than unreachability (→ 502)?

    httpx-aiohttp maps every aiohttp connection error, "connection refused" included, to httpx.ConnectTimeout,
    so the class alone is not enough: look at what caused it.
    """
    if isinstance(exc, TimeoutError):
        return True  # the gateway's own per-attempt deadline
    if exc.__cause__ is None:
        return isinstance(exc, httpx.TimeoutException)
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__
    return False


class Upstream:
    """One upstream service as the gateway calls it: httpx Requests/Responses straight on the transport.

    No httpx.AsyncClient in between, on purpose: a client keeps a cookie jar across requests, and in a
    gateway shared by every caller a Set-Cookie from one member's answer would travel with the next
    member's request; the client's auth, redirect and hook machinery is unused here and costs CPU per call.
    """

    def __init__(self, name: str, base_url: str, transport: httpx.AsyncBaseTransport, *, policy: RetryPolicy,
                 breaker: CircuitBreaker, timeout: float, connect_timeout: float = 2.0) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.policy = policy
        self.breaker = breaker
        self.timeout = timeout
        self.extensions = {"timeout": httpx.Timeout(timeout, connect=connect_timeout).as_dict()}
        # The production transport has a fast path that skips building an httpx.Request (see its `fetch`);
        # any other transport (tests' MockTransport) gets ordinary httpx Requests.
        self.fast = transport if isinstance(transport, LeanAiohttpTransport) else None
        self.client_timeout = LeanAiohttpTransport.client_timeout(connect_timeout, timeout)

    async def _send(self, method: str, path: str, query: str, headers: Mapping[str, str] | None, content: bytes | None) -> Answer:
        url = f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"
        if self.fast is not None:
            return await self.fast.fetch(method, url, headers, content or None, self.client_timeout)
        request = httpx.Request(method, url, headers=headers, content=content, extensions=self.extensions)
        response = await self.transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def request(
        self, method: str, path: str, *, query: str = "", headers: Mapping[str, str] | None = None, content: bytes | None = None
    ) -> Answer:
        """The upstream's response (any status, body read), or BadGateway / GatewayTimeout. `query` is the raw query string."""
        attempts = self.policy.attempts(method)
        last: Answer | None = None
        timed_out = False
        for attempt in range(attempts):
            if attempt:
                await self.policy.pause(attempt - 1)
            if not self.breaker.allow():
                if last is not None:
                    return last
                raise BadGateway(
                    f"{self.name} is unavailable; calls are paused for a few seconds", code="circuit_open",
                    headers={"Retry-After": str(max(1, round(self.breaker.retry_after() + 0.5)))},
                )
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self._send(method, path, query, headers, content)
            except asyncio.CancelledError:  # the caller gave up (a view's deadline, a client gone): no outcome
                self.breaker.abandon()
                raise
            except (httpx.TransportError, TimeoutError) as exc:
                timed_out = is_timeout(exc)
                last = None
                self.breaker.record_failure()
                log.warning("%s %s %s failed (attempt %d/%d): %s", self.name, method, path, attempt + 1, attempts, exc.__class__.__name__)
                continue
            if response.status_code in RETRYABLE_STATUSES:
                last = response
                if response.status_code == 503 and response.headers.get("retry-after") is not None:
                    # The upstream is up and shedding load (kit's 503 `overloaded`): opening the circuit would
                    # turn its refusing some calls into refusing all of them.
                    self.breaker.abandon()
                else:
                    self.breaker.record_failure()
                continue
            self.breaker.record_success()
            return response
        if last is not None:
            return last  # the upstream's own 502/503/504, status and body kept
        if timed_out:
            raise GatewayTimeout(f"{self.name} did not answer in time")
        raise BadGateway(f"{self.name} is unavailable")

    async def aclose(self) -> None:
        await self.transport.aclose()


def make_upstreams(settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> dict[str, Upstream]:
    policy = RetryPolicy(retries=settings.upstream_retries, backoff_seconds=settings.upstream_backoff_seconds)
    return {
        name: Upstream(
            name,
            getattr(settings, f"{name}_url"),
            (transports or {}).get(name) or make_transport(settings),
            policy=policy,
            breaker=CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds),
            timeout=settings.upstream_timeout_seconds,
            connect_timeout=settings.upstream_connect_timeout_seconds,
        )
        for name in NAMES
    }


@asynccontextmanager
async def upstreams(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.upstreams = make_upstreams(settings, getattr(app.state, "upstream_transports", None))
    try:
        yield
    finally:
        for upstream in app.state.upstreams.values():
            await upstream.aclose()
