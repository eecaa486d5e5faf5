"""What profiles consumes (tolerant reader: each handler parses only the fields it needs).

    agora.connections  connection.made / connection.removed  -> read model of 1st-degree connections
                                                               (for "connections only" visibility)
    agora.tallies      tally.updated                         -> latest score per authored target,
                                                               karma = their sum, trust level recomputed

Both read models are order-tolerant: a connection fact applies only if newer (`made_at`/`removed_at`)
than the stored one, a tally only if its `version` is newer, so redelivered or reordered events are
harmless. Events about members whose account is gone are ignored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import CONNECTIONS, DEADLETTER, TALLIES
from services.kit.consumer import BatchHandler, ConsumerWorker, Handler, PoisonEvent, Subscription, parse_batch
from services.kit.events import CloudEvent
from services.profiles import service
from services.profiles.config import SCHEMA
from services.profiles.trust import TrustPolicy


class _ConnectionMade(BaseModel):
    a_id: uuid.UUID
    b_id: uuid.UUID
    made_at: datetime


class _ConnectionRemoved(BaseModel):
    a_id: uuid.UUID
    b_id: uuid.UUID
    removed_at: datetime


class _TallyUpdated(BaseModel):
    target_id: uuid.UUID
    author_id: uuid.UUID
    score: int
    version: int
    updated_at: datetime


async def on_connection_made(session: AsyncSession, event: CloudEvent) -> None:
    data = _ConnectionMade.model_validate(event.data)
    if data.a_id == data.b_id:
        raise PoisonEvent("a member cannot be connected to themselves")
    await service.apply_connection(session, data.a_id, data.b_id, connected=True, at=data.made_at)


async def on_connection_removed(session: AsyncSession, event: CloudEvent) -> None:
    data = _ConnectionRemoved.model_validate(event.data)
    await service.apply_connection(session, data.a_id, data.b_id, connected=False, at=data.removed_at)


def tally_handler(policy: TrustPolicy) -> Handler:
    async def on_tally_updated(session: AsyncSession, event: CloudEvent) -> None:
        data = _TallyUpdated.model_validate(event.data)
        await service.apply_tally(
            session, policy, target_id=data.target_id, author_id=data.author_id, score=data.score, version=data.version, at=data.updated_at,
        )

    return on_tally_updated


def tallies_handler(policy: TrustPolicy) -> BatchHandler:
    """The batch handler `tally.updated` runs with (a batch's tallies in a few statements); `tally_handler`
    is the per-event equivalent."""
    async def on_tallies(session: AsyncSession, events: list[CloudEvent]) -> list[tuple[CloudEvent, str]]:
        tallies, rejected = parse_batch(events, _TallyUpdated)
        rows = [(t.target_id, t.author_id, t.score, t.version, t.updated_at) for t in tallies]
        await service.apply_tallies(session, policy, rows)
        return rejected

    return on_tallies


def subscription(policy: TrustPolicy) -> Subscription:
    return Subscription(
        name="profiles.events",
        topics=[CONNECTIONS, TALLIES],
        handlers={
            "connection.made": on_connection_made,
            "connection.removed": on_connection_removed,
        },
        batch_handlers={"tally.updated": tallies_handler(policy)},
    )


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, subscription(TrustPolicy.from_settings(settings)), DEADLETTER)


CONSUMERS = {"events": events_consumer}
