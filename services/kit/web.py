"""The app factory every Agora HTTP process is built with, so one service reads like another.

`build_app()` wires: JSON logs, the trace middleware (W3C traceparent in and out), a request body limit,
the one error shape for every failure (ours, validation, routing, unexpected), `/healthz` and `/readyz`,
and a lifespan that creates the database engine (never at import time) and disposes it on shutdown.
Routes get a transaction-scoped session with `Depends(session)`: it commits when the route returns and
before the response is sent, so a failed commit is an error response, never a lost write. An app built
with `asyncpg_pool=True` also has a plain asyncpg pool (`app.state.pool`) for measured hot paths, whose
statements run in autocommit (each its own transaction).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit import logs, tracing
from services.kit.auth import Principal, TokenVerifier, bearer_token
from services.kit.db import make_engine, make_pool, make_sessions
from services.kit.errors import AgoraError, PayloadTooLarge, error_body
from services.kit.settings import ProcessSettings, ServiceSettings

log = logging.getLogger("agora.http")

ReadinessCheck = Callable[[FastAPI], Awaitable[None]]
Extension = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class Model(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str
    message: str
    detail: Any | None = None
    trace_id: str | None = None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with (all share ErrorBody)."""
    return {s: {"model": ErrorBody, "description": _REASONS.get(s, "Error")} for s in statuses}


_REASONS = {
    400: "Malformed request (e.g. invalid JSON)", 401: "Missing, invalid or expired access token",
    403: "Not allowed for this member", 404: "Not found", 409: "Conflicts with existing state",
    413: "Request body too large", 422: "Validation failed", 429: "Rate limited; see Retry-After",
    502: "Upstream unavailable", 503: "Not ready", 504: "Upstream timed out",
}
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 406: "not_acceptable", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def _json_error(status: int, code: str, message: str, detail: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, detail, tracing.trace_id()), status_code=status, headers=headers)


class TraceMiddleware:
    """Continues the caller's trace (or starts one) and returns `traceparent` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"), None)
        tp = tracing.continue_trace(incoming)
        token = tracing.current_traceparent.set(tp)

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"traceparent", tp.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            tracing.current_traceparent.reset(token)


class InFlightLimitMiddleware:
    """At most `limit` requests inside the app at once per process; the next one is refused at once with 503
    `overloaded` and Retry-After (the health probes always pass). Without it a burst beyond what the process
    can serve queues every request, so each one ends late: clients time out on work the server then does
    anyway, and what it accepts falls (measured on POST /v1/votes, 2 servers: 562 accepted/s at 2,000/s
    offered, 310/s at 5,000/s with 26,297 client timeouts)."""

    EXEMPT = frozenset({"/healthz", "/readyz"})

    def __init__(self, app: ASGIApp, limit: int, retry_after: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = str(retry_after)
        self.in_flight = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.EXEMPT:
            return await self.app(scope, receive, send)
        if self.in_flight >= self.limit:
            self.refused += 1
            return await _json_error(503, "overloaded", "the service is at capacity; retry after the time in Retry-After",
                                     headers={"Retry-After": self.retry_after})(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyLimitMiddleware:
    """Refuses request bodies over `limit` bytes with 413 before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _json_error(413, "payload_too_large", f"request body exceeds {self.limit} bytes")(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(f"request body exceeds {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AgoraError)
    async def _agora(_: Request, exc: AgoraError) -> JSONResponse:
        return _json_error(exc.status, exc.code, exc.message, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _json_error(400, "malformed_json", "request body is not valid JSON")
        detail = [{"loc": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
        first = detail[0] if detail else {"loc": [], "message": "invalid"}
        where = ".".join(p for p in first["loc"] if p not in ("body",)) or "request"
        return _json_error(422, "invalid", f"{where}: {first['message']}", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _json_error(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if (cause := database_unavailable(exc)) is not None:
            log.warning("database unavailable: %s: %s", type(cause).__name__, cause)
            return _json_error(503, "database_unavailable", "the service cannot reach its database; retry after the time in Retry-After",
                               headers={"Retry-After": "2"})
        log.exception("unhandled error")
        return _json_error(500, "internal_error", "an unexpected error occurred; it has been logged with this trace id")


# SQLSTATEs of a database that cannot serve right now: connection exceptions (class 08), too many
# connections, shutting down or starting up.
_UNAVAILABLE_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})


def database_unavailable(exc: BaseException) -> BaseException | None:
    """The error in `exc`'s chain (SQLAlchemy's wrapper, asyncpg's error, the socket's) that says the
    database cannot be reached or cannot take work now, if any: the request may succeed when retried, so
    the client gets 503 with Retry-After instead of 500."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ConnectionError, asyncpg.exceptions.ConnectionDoesNotExistError)):
            return e
        if isinstance(e, OSError) and e.errno is not None:  # refused, unreachable, reset (not TimeoutError's None)
            return e
        sqlstate = getattr(e, "sqlstate", None)
        if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES):
            return e
        todo.extend((getattr(e, "orig", None), e.__cause__, e.__context__))
    return None


def health_router(checks: Sequence[ReadinessCheck] = ()) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: dependencies answer", responses=error_responses(503))
    async def readyz(request: Request) -> Any:
        failures = []
        for check in (*checks, *request.app.state.readiness):
            try:
                await asyncio.wait_for(check(request.app), 3.0)
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                failures.append(f"{getattr(check, '__name__', 'check')}: {exc.__class__.__name__}: {exc}"[:300])
        if failures:
            return _json_error(503, "not_ready", "dependencies are not ready", failures)
        return {"status": "ready"}

    return router


async def database_ready(app: FastAPI) -> None:
    async with app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def build_app(
    *,
    settings: ProcessSettings,
    schema: str | None,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    extensions: Sequence[Extension] = (),
    body_limit: int = 1 << 20,
    version: str = "1.0.0",
    asyncpg_pool: bool = False,
) -> FastAPI:
    """Create a service's FastAPI app. `extensions` are async context managers run inside the lifespan;
    `asyncpg_pool` adds `app.state.pool` (needs a schema)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure(settings.service_name, settings.log_level)
        app.state.readiness = []
        if schema is not None:
            app.state.engine = make_engine(settings, schema)
            app.state.sessions = make_sessions(app.state.engine)
            app.state.readiness.append(database_ready)
            if asyncpg_pool:
                app.state.pool = await make_pool(settings, schema)
        app.state.verifier = TokenVerifier(settings.jwks_url) if settings.jwks_url else None
        try:
            async with _nested(app, extensions):
                yield
        finally:
            if schema is not None:
                if asyncpg_pool:
                    await app.state.pool.close()
                await app.state.engine.dispose()

    # FastAPI's native OpenTelemetry bridge is off: Agora carries traces itself (kit.tracing: traceparent in
    # logs, outbox rows and calls) and configures no OpenTelemetry provider, and the bridge looked the global
    # providers up on every request (≈ 13% of POST /v1/votes' CPU) only to find none.
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.settings = settings
    app.state.readiness = []
    install_error_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=body_limit)
    app.add_middleware(TraceMiddleware)
    if isinstance(settings, ServiceSettings):  # (not the gateway: it holds live streams open, and limits views itself)
        app.add_middleware(InFlightLimitMiddleware, limit=settings.http_max_in_flight)
    return app


@asynccontextmanager
async def _nested(app: FastAPI, extensions: Sequence[Extension]) -> AsyncIterator[None]:
    if not extensions:
        yield
        return
    async with extensions[0](app):
        async with _nested(app, extensions[1:]):
            yield


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as s:
        async with s.begin():
            yield s


# The transaction of a request: committed when the route returns, before the response is sent.
session = Depends(_session, scope="function")


async def _principal(request: Request) -> Principal:
    verifier: TokenVerifier | None = request.app.state.verifier
    token = bearer_token(request.headers.get("authorization"))
    if verifier is None:
        raise AgoraError("token verification is not configured (set AGORA_JWKS_URL)")
    return await verifier.verify(token)


async def _optional_principal(request: Request) -> Principal | None:
    if not request.headers.get("authorization"):
        return None
    return await _principal(request)


# The signed-in member (401 without a valid access token) / or None for anonymous readers.
current_member = Depends(_principal)
optional_member = Depends(_optional_principal)
