"""Fixtures for content's integration tests: the in-process app, members with tokens, direct reads of the run's database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest


@pytest.fixture
async def content(app_client: Any) -> httpx.AsyncClient:
    return await app_client("content")


@pytest.fixture(scope="session")
async def pg(test_infra: Any) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(test_infra.database_url, min_size=1, max_size=2, server_settings={"search_path": "content"})
    yield pool
    await pool.close()


class Members:
    def __init__(self, issuer: Any) -> None:
        self.issuer = issuer

    def new(self) -> tuple[uuid.UUID, dict[str, str]]:
        member = uuid.uuid4()
        return member, self.issuer.headers(member)


@pytest.fixture
def members(issuer: Any) -> Members:
    return Members(issuer)


async def new_post(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "question", "title": f"t-{uuid.uuid4().hex[:8]}", "topics": ["general"]}
    body.update(fields)
    resp = await client.post("/v1/posts", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def outbox_events(pg: asyncpg.Pool, key: str) -> list[tuple[str, dict[str, Any]]]:
    import orjson

    rows = await pg.fetch("SELECT type, payload FROM content.outbox WHERE key = $1 ORDER BY seq", key)
    return [(r["type"], orjson.loads(r["payload"])) for r in rows]



@pytest.fixture(scope="session")
async def sessions(settings_for: Any) -> AsyncIterator[Any]:
    from services.content.config import SCHEMA
    from services.kit.db import make_engine, make_sessions

    engine = make_engine(settings_for("content"), SCHEMA, pool_size=2)
    yield make_sessions(engine)
    await engine.dispose()


def tally_event(target: str, kind: str, ups: int, downs: int, version: int, **extra: Any) -> Any:
    from datetime import UTC, datetime

    from services.kit.events import CloudEvent

    data = {"target_id": target, "target_kind": kind, "author_id": str(uuid.uuid4()), "ups": ups, "downs": downs,
            "score": ups - downs, "version": version, "updated_at": datetime.now(UTC).isoformat(), **extra}
    return CloudEvent(id=str(uuid.uuid4()), source="agora/voting", type="tally.updated", time=datetime.now(UTC), data=data, subject=target)


async def apply_tally(sessions: Any, target: str, kind: str, ups: int, downs: int, version: int = 1, **extra: Any) -> None:
    """Applies a tally with content's own handler, without Kafka (test_consumers covers the way through Kafka)."""
    from services.content.handlers import on_tally

    async with sessions() as session, session.begin():
        await on_tally(session, tally_event(target, kind, ups, downs, version, **extra))
