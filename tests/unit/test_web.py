"""The one error shape, for every kind of failure, from an app built with the kernel's factory."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import text

from services.kit.errors import Conflict, TooManyRequests
from services.kit.settings import ProcessSettings, ServiceSettings
from services.kit.web import Model, build_app


class Settings(ProcessSettings):
    service_name: ClassVar[str] = "webtest"


class Thing(Model):
    name: str = Field(max_length=5)
    count: int


router = APIRouter()


@router.post("/things", status_code=201)
async def create(thing: Thing) -> dict[str, Any]:
    if thing.name == "taken":
        raise Conflict("that name is taken", code="name_taken")
    if thing.name == "slow":
        raise TooManyRequests("slow down", retry_after=2.2)
    return {"name": thing.name}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("unexpected")


@pytest.fixture
async def client() -> Any:
    app = build_app(settings=Settings(kafka_bootstrap_servers="127.0.0.1:1"), schema=None, title="t", description="d", routers=[router], body_limit=1000)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as c:
            yield c


async def test_success_and_trace_header(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"name": "ok", "count": 1}, headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    assert r.status_code == 201 and r.json() == {"name": "ok"}
    assert r.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"name": "toolong", "count": 1}}, 422, "invalid"),
        ({"json": {"name": "ok", "count": "x"}}, 422, "invalid"),
        ({"json": {"name": "ok", "count": 1, "extra": 1}}, 422, "invalid"),
        ({"content": b"{oops", "headers": {"content-type": "application/json"}}, 400, "malformed_json"),
        ({"json": {"name": "taken", "count": 1}}, 409, "name_taken"),
        ({"json": {"name": "x" * 2000, "count": 1}}, 413, "payload_too_large"),
    ],
)
async def test_errors_share_one_shape(client: httpx.AsyncClient, kwargs: dict[str, Any], status: int, code: str) -> None:
    r = await client.post("/things", **kwargs)
    assert r.status_code == status
    body = r.json()
    assert body["error"] == code and body["message"] and len(body["trace_id"]) == 32


async def test_validation_detail_names_the_field(client: httpx.AsyncClient) -> None:
    body = (await client.post("/things", json={"name": "toolong", "count": 1})).json()
    assert body["message"].startswith("name: ")
    assert body["detail"][0]["loc"] == ["body", "name"] and body["detail"][0]["type"] == "string_too_long"


async def test_rate_limit_says_when_to_retry(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"name": "slow", "count": 1})
    assert r.status_code == 429 and r.headers["retry-after"] == "3" and r.json()["error"] == "rate_limited"


async def test_routing_errors_and_crashes_use_the_shape_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await client.get("/things")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    r = await client.get("/boom")
    assert r.status_code == 500 and r.json()["error"] == "internal_error" and "RuntimeError" not in r.text


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


class ServiceLike(ServiceSettings):
    service_name: ClassVar[str] = "webtest"


async def test_requests_beyond_the_in_flight_limit_are_refused_at_once_and_health_still_answers() -> None:
    release, entered = asyncio.Event(), []
    waiting = APIRouter()

    @waiting.get("/wait")
    async def wait() -> dict[str, bool]:
        entered.append(1)
        await release.wait()
        return {"done": True}

    settings = ServiceLike(kafka_bootstrap_servers="127.0.0.1:1", database_url="postgresql://x@127.0.0.1:1/x", http_max_in_flight=2)
    app = build_app(settings=settings, schema=None, title="t", description="d", routers=[waiting])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            first = [asyncio.create_task(c.get("/wait")) for _ in range(2)]
            async with asyncio.timeout(5):
                while len(entered) < 2:
                    await asyncio.sleep(0.005)
            r = await c.get("/wait")
            assert r.status_code == 503 and r.json()["error"] == "overloaded" and r.headers["retry-after"] == "1"
            assert len(entered) == 2  # refused before reaching the route
            assert (await c.get("/healthz")).status_code == 200  # probes are never shed
            release.set()
            assert [(await t).status_code for t in first] == [200, 200]
            assert (await c.get("/wait")).status_code == 200  # capacity is back once they finished


async def test_a_database_that_cannot_be_reached_is_503_with_retry_after_not_500() -> None:
    from services.kit.web import session

    reads = APIRouter()

    @reads.get("/count")
    async def count(db: Any = session) -> int:
        return int((await db.execute(text("SELECT 1"))).scalar_one())

    # Port 1 on the loopback: nothing listens there, the connection is refused.
    settings = ServiceLike(kafka_bootstrap_servers="127.0.0.1:1", database_url="postgresql://x@127.0.0.1:1/x")
    app = build_app(settings=settings, schema="webtest", title="t", description="d", routers=[reads])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as c:
            r = await c.get("/count")
    assert r.status_code == 503 and r.json()["error"] == "database_unavailable" and r.headers["retry-after"] == "2"


def test_only_errors_of_reaching_the_database_count_as_unavailable() -> None:
    from services.kit.web import database_unavailable

    wrapped = RuntimeError("statement failed")
    wrapped.__cause__ = ConnectionRefusedError(111, "refused")
    assert database_unavailable(wrapped) is wrapped.__cause__
    assert database_unavailable(asyncpg.exceptions.CannotConnectNowError("starting up")) is not None  # 57P03
    assert database_unavailable(asyncpg.exceptions.TooManyConnectionsError("full")) is not None  # 53300
    assert database_unavailable(asyncpg.exceptions.UniqueViolationError("dup")) is None
    assert database_unavailable(ValueError("bug")) is None
    assert database_unavailable(TimeoutError()) is None  # a slow query is not an unreachable database
