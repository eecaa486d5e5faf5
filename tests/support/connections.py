"""Fixtures shared by the connections and conversations integration tests (both live in the connections
service): the app in-process, sessions on its schema, members registered through the real
`profile.registered` handler, raw queries, and tokens.

A conftest imports them and defines `conn_settings` (the service's settings with the limits its tests
need to reach in a few requests):

    from tests.support.connections import api, auth, db, member, sessions  # noqa: F401
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.connections import handlers
from services.connections.config import SCHEMA
from services.kit.db import make_engine, make_sessions
from services.kit.events import CloudEvent
from tests.conftest import AppClient


@pytest.fixture(scope="session")
async def api(conn_settings: Any) -> AsyncIterator[Any]:
    from services.connections.main import create_app

    wrapper = AppClient(create_app(conn_settings))
    client = await wrapper.__aenter__()
    yield client
    await wrapper.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def sessions(conn_settings: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(conn_settings, SCHEMA, pool_size=2)
    yield make_sessions(engine)
    await engine.dispose()


def profile_event(event_type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(id=str(uuid.uuid4()), source="agora/profiles", type=event_type, time=datetime.now(UTC), data=data,
                      subject=data.get("member_id"))


@pytest.fixture(scope="session")
def member(sessions: async_sessionmaker[AsyncSession]) -> Callable[..., Awaitable[uuid.UUID]]:
    async def register(handle: str | None = None, topics: list[str] | None = None) -> uuid.UUID:
        mid = uuid.uuid4()
        async with sessions() as s, s.begin():
            await handlers.on_registered(s, profile_event("profile.registered", {
                "member_id": str(mid), "handle": handle or f"m-{mid.hex[:8]}", "registered_at": datetime.now(UTC).isoformat()}))
            if topics is not None:
                await handlers.on_updated(s, profile_event("profile.updated", {
                    "member_id": str(mid), "topics": topics, "updated_at": datetime.now(UTC).isoformat()}))
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
def auth(issuer: Any) -> Callable[[uuid.UUID], dict[str, str]]:
    return issuer.headers  # type: ignore[no-any-return]


async def connect(api: Any, auth: Any, a: uuid.UUID, b: uuid.UUID) -> None:
    """Connect two members the way members do: an invitation accepted."""
    r = await api.post("/v1/invitations", json={"to_id": str(b)}, headers=auth(a))
    assert r.status_code == 201, r.text
    r = await api.post(f"/v1/invitations/{r.json()['invitation_id']}/accept", headers=auth(b))
    assert r.status_code == 200, r.text
