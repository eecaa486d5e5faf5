"""What connections consumes: profile events, into its own read model of members (tolerant reader)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import DEADLETTER, PROFILES
from services.connections.config import SCHEMA
from services.connections.repository import Graph
from services.kit.consumer import ConsumerWorker, Subscription
from services.kit.events import CloudEvent


class _Registered(BaseModel):
    member_id: uuid.UUID
    handle: str
    registered_at: datetime


async def on_registered(session: AsyncSession, event: CloudEvent) -> None:
    data = _Registered.model_validate(event.data)
    await Graph(session).add_member(data.member_id, data.handle, data.registered_at)


SUBSCRIPTION = Subscription(name="connections.events", topics=[PROFILES], handlers={"profile.registered": on_registered})


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, SUBSCRIPTION, DEADLETTER)


CONSUMERS = {"events": events_consumer}
