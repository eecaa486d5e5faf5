"""Fixtures for conversations on the real PostgreSQL (and Kafka where a test says so).

`api` is the connections app in-process with conversation limits small enough to reach in a few requests.
`member()` registers a member through the real `profile.registered` handler; `events(type, conversation)`
reads what the service wrote to its outbox about a conversation, in order.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.connections import handlers
from services.connections.config import SCHEMA
from services.kit.db import make_engine, make_sessions
from tests.conftest import AppClient
from tests.integration.connections.conftest import connect, profile_event

__all__ = ["connect"]

LIMITS = dict(message_rate_per_minute=12, new_conversations_per_hour=6, message_requests_per_day=2, group_max_members=4)


@pytest.fixture(scope="session")
def conv_settings(settings_for: Any) -> Any:
    return settings_for("connections", **LIMITS)


@pytest.fixture(scope="session")
async def api(conv_settings: Any) -> AsyncIterator[Any]:
    from services.connections.main import create_app

    wrapper = AppClient(create_app(conv_settings))
    client = await wrapper.__aenter__()
    yield client
    await wrapper.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def sessions(conv_settings: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(conv_settings, SCHEMA, pool_size=2)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def member(sessions: async_sessionmaker[AsyncSession]) -> Callable[..., Awaitable[uuid.UUID]]:
    async def register(handle: str | None = None) -> uuid.UUID:
        mid = uuid.uuid4()
        async with sessions() as s, s.begin():
            await handlers.on_registered(s, profile_event("profile.registered", {
                "member_id": str(mid), "handle": handle or f"m-{mid.hex[:8]}", "registered_at": datetime.now(UTC).isoformat()}))
        return mid

    return register


@pytest.fixture(scope="session")
def db(test_infra: Any) -> Callable[..., Awaitable[Any]]:
    async def fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(test_infra.database_url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return fetch


@pytest.fixture(scope="session")
def events(db: Any) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    async def read(event_type: str, conversation_id: Any) -> list[dict[str, Any]]:
        rows = await db(f"SELECT key, payload FROM {SCHEMA}.outbox WHERE type = $1 AND key = $2 ORDER BY seq", event_type, str(conversation_id))
        return [orjson.loads(r["payload"]) for r in rows]

    return read


@pytest.fixture(scope="session")
def auth(issuer: Any) -> Callable[[uuid.UUID], dict[str, str]]:
    return issuer.headers  # type: ignore[no-any-return]


async def start(api: Any, auth: Any, me: uuid.UUID, *others: uuid.UUID, body: str = "hello", **extra: Any) -> Any:
    return await api.post("/v1/conversations", json={"member_ids": [str(o) for o in others], "body": body, **extra}, headers=auth(me))


async def say(api: Any, auth: Any, me: uuid.UUID, conversation_id: Any, body: str = "hi") -> Any:
    return await api.post(f"/v1/conversations/{conversation_id}/messages", json={"body": body}, headers=auth(me))


async def inbox(api: Any, auth: Any, me: uuid.UUID, folder: str = "inbox") -> dict[str, dict[str, Any]]:
    r = await api.get("/v1/conversations", params={"folder": folder}, headers=auth(me))
    assert r.status_code == 200, r.text
    return {c["conversation_id"]: c for c in r.json()["items"]}
