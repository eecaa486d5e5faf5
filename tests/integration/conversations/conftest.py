"""Fixtures for conversations on the real PostgreSQL (and Kafka where a test says so).

`api` is the connections app in-process with conversation limits small enough to reach in a few requests.
`member()` registers a member through the real `profile.registered` handler; `events(type, conversation)`
reads what the service wrote to its outbox about a conversation, in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from services.connections.config import SCHEMA
from tests.support.connections import api, auth, connect, db, member, profile_event, sessions  # noqa: F401  (fixtures)

__all__ = ["connect", "profile_event"]

LIMITS = dict(message_rate_per_minute=12, new_conversations_per_hour=6, message_requests_per_day=2, group_max_members=4)


@pytest.fixture(scope="session")
def conn_settings(settings_for: Any) -> Any:
    return settings_for("connections", **LIMITS)


@pytest.fixture(scope="session")
def events(db: Any) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    async def read(event_type: str, conversation_id: Any) -> list[dict[str, Any]]:
        rows = await db(f"SELECT key, payload FROM {SCHEMA}.outbox WHERE type = $1 AND key = $2 ORDER BY seq", event_type, str(conversation_id))
        return [orjson.loads(r["payload"]) for r in rows]

    return read


async def start(api: Any, auth: Any, me: uuid.UUID, *others: uuid.UUID, body: str = "hello", **extra: Any) -> Any:
    return await api.post("/v1/conversations", json={"member_ids": [str(o) for o in others], "body": body, **extra}, headers=auth(me))


async def say(api: Any, auth: Any, me: uuid.UUID, conversation_id: Any, body: str = "hi") -> Any:
    return await api.post(f"/v1/conversations/{conversation_id}/messages", json={"body": body}, headers=auth(me))


async def inbox(api: Any, auth: Any, me: uuid.UUID, folder: str = "inbox") -> dict[str, dict[str, Any]]:
    r = await api.get("/v1/conversations", params={"folder": folder}, headers=auth(me))
    assert r.status_code == 200, r.text
    return {c["conversation_id"]: c for c in r.json()["items"]}
