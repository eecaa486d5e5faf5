"""What voting consumes: content events (who authored each target) and the votes topic (the tally)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import CONTENT, DEADLETTER, VOTES
from services.kit.consumer import ConsumerWorker, Subscription
from services.kit.events import CloudEvent
from services.voting import events, service
from services.voting.config import SCHEMA
from services.voting.repository import Targets


class _PostCreated(BaseModel):
    post_id: uuid.UUID
    author_id: uuid.UUID
    created_at: datetime


async def on_post_created(session: AsyncSession, event: CloudEvent) -> None:
    data = _PostCreated.model_validate(event.data)
    await Targets(session).add(data.post_id, "post", data.author_id, data.created_at)


async def on_vote_cast(session: AsyncSession, event: CloudEvent) -> None:
    await service.apply_vote(session, events.VoteCast.model_validate(event.data))


EVENTS = Subscription(name="voting.events", topics=[CONTENT], handlers={"post.created": on_post_created})
TALLY = Subscription(name="voting.tally", topics=[VOTES], handlers={"vote.cast": on_vote_cast})


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, EVENTS, DEADLETTER)


async def tally_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, TALLY, DEADLETTER)


CONSUMERS = {"events": events_consumer, "tally": tally_consumer}
