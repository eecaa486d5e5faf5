"""What connections consumes, and its background work.

Profile events feed the members read model (tolerant reader: a local model of only the fields used):
  profile.registered  → a member row
  profile.updated     → handle and topics (topics weight suggestions); an older version never wins
  account.deleted     → edges, follows, blocks, invitations and introductions removed; the row anonymised
Every handler is idempotent on its own and runs under the kernel's inbox, so a redelivery changes nothing.

`CONSUMERS` (run by `agora consume connections <name>`):
  events   the profile-event consumer
  expiry   sweeps pending invitations past their expiry (invitation.expired), every `expiry_interval_seconds`
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import DEADLETTER, PROFILES
from services.connections import service
from services.connections.config import SCHEMA, Settings
from services.connections.repository import Members
from services.kit.consumer import ConsumerWorker, Subscription
from services.kit.db import make_engine, make_sessions
from services.kit.events import CloudEvent

log = logging.getLogger("agora.connections")
MAX_TOPICS = 50  # more would not change a ranking; a longer list is cut, not refused (tolerant reader)


class _Registered(BaseModel):
    member_id: uuid.UUID
    handle: str
    registered_at: datetime


class _Updated(BaseModel):
    member_id: uuid.UUID
    handle: str | None = None
    topics: list[str] = Field(default_factory=list)
    updated_at: datetime


class _Deleted(BaseModel):
    member_id: uuid.UUID
    deleted_at: datetime


async def on_registered(session: AsyncSession, event: CloudEvent) -> None:
    data = _Registered.model_validate(event.data)
    await Members(session).add(data.member_id, data.handle, data.registered_at)


async def on_updated(session: AsyncSession, event: CloudEvent) -> None:
    data = _Updated.model_validate(event.data)
    topics = sorted({t.strip().lower() for t in data.topics if t.strip()})[:MAX_TOPICS]
    await Members(session).update_profile(data.member_id, data.handle, topics, data.updated_at)


async def on_deleted(session: AsyncSession, event: CloudEvent) -> None:
    data = _Deleted.model_validate(event.data)
    await service.forget_member(session, data.member_id, data.deleted_at)


SUBSCRIPTION = Subscription(
    name="connections.events", topics=[PROFILES],
    handlers={"profile.registered": on_registered, "profile.updated": on_updated, "account.deleted": on_deleted},
)


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, SUBSCRIPTION, DEADLETTER)


class ExpiryWorker:
    """Expires overdue invitations in batches; several replicas are safe (SKIP LOCKED)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings, SCHEMA, pool_size=1)
        self.sessions = make_sessions(self.engine)
        self.ready = False
        self.expired = 0

    async def sweep(self) -> int:
        total = 0
        while True:
            async with self.sessions() as session, session.begin():
                n = await service.expire_invitations(session, self.settings)
            total += n
            if n < 500:
                self.expired += total
                return total

    async def run(self, stop: asyncio.Event) -> None:
        self.ready = True
        try:
            while not stop.is_set():
                try:
                    await self.sweep()
                except Exception:  # noqa: BLE001 - a failed sweep (database restart) is retried next round
                    log.exception("invitation expiry sweep failed; retrying")
                try:
                    await asyncio.wait_for(stop.wait(), self.settings.expiry_interval_seconds)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.ready = False

    async def close(self) -> None:
        await self.engine.dispose()


async def expiry_worker(settings: Any) -> ExpiryWorker:
    return ExpiryWorker(settings)


CONSUMERS = {"events": events_consumer, "expiry": expiry_worker}
