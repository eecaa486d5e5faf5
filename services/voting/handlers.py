"""What voting consumes.

    agora.content   post.created, comment.created  -> targets read model (who authored what)   `events`
    agora.profiles  account.deleted                -> deleted members (their votes are refused)  `events`
    agora.votes     vote.cast                      -> ballots + tallies (services/voting/tally.py) `tally`
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import CONTENT, DEADLETTER, PROFILES
from services.kit.consumer import ConsumerWorker, Subscription
from services.kit.events import CloudEvent
from services.voting.config import SCHEMA
from services.voting.repository import DeletedMembers, Targets
from services.voting.tally import tally_worker


class _PostCreated(BaseModel):
    post_id: uuid.UUID
    author_id: uuid.UUID
    created_at: datetime


class _CommentCreated(BaseModel):
    comment_id: uuid.UUID
    post_id: uuid.UUID
    author_id: uuid.UUID
    created_at: datetime


class _AccountDeleted(BaseModel):
    member_id: uuid.UUID
    deleted_at: datetime


async def on_post_created(session: AsyncSession, event: CloudEvent) -> None:
    data = _PostCreated.model_validate(event.data)
    await Targets(session).add(data.post_id, "post", data.author_id, data.created_at)


async def on_comment_created(session: AsyncSession, event: CloudEvent) -> None:
    data = _CommentCreated.model_validate(event.data)
    await Targets(session).add(data.comment_id, "comment", data.author_id, data.created_at, post_id=data.post_id)


async def on_account_deleted(session: AsyncSession, event: CloudEvent) -> None:
    data = _AccountDeleted.model_validate(event.data)
    await DeletedMembers(session).add(data.member_id, data.deleted_at)


EVENTS = Subscription(
    name="voting.events",
    topics=[CONTENT, PROFILES],
    handlers={"post.created": on_post_created, "comment.created": on_comment_created, "account.deleted": on_account_deleted},
)


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, EVENTS, DEADLETTER)


CONSUMERS = {"events": events_consumer, "tally": tally_worker}
