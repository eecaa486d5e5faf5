"""Fixtures for connections on the real PostgreSQL (and Kafka where a test says so).

`api` is the connections app in-process with tight limits, so limits are reachable in a few requests.
`member()` registers a member through the real `profile.registered` handler; `outbox_events(id)` reads
what the service wrote to its outbox about a member, in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from services.connections.config import SCHEMA
from tests.support.connections import api, auth, connect, db, member, profile_event, sessions  # noqa: F401  (fixtures)

LIMITS = dict(invitation_pending_cap=3, invitation_weekly_cap=5, restriction_min_resolved=3, restriction_decline_ratio=0.6,
              introduction_open_cap=2)


@pytest.fixture(scope="session")
def conn_settings(settings_for: Any) -> Any:
    return settings_for("connections", **LIMITS)


@pytest.fixture(scope="session")
def outbox_events(db: Any) -> Callable[..., Awaitable[list[tuple[str, str, dict[str, Any]]]]]:
    async def read(*ids: uuid.UUID) -> list[tuple[str, str, dict[str, Any]]]:
        rows = await db(f"SELECT type, key, payload FROM {SCHEMA}.outbox ORDER BY seq")
        out = []
        for r in rows:
            data = orjson.loads(r["payload"])
            if all(str(i) in data.values() for i in ids):
                out.append((r["type"], r["key"], data))
        return out

    return read
