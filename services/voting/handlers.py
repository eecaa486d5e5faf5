"""What voting consumes.

    agora.content        post.created, comment.created        -> targets read model (who authored what)        `events`
    agora.profiles       profile.registered, email.verified,  -> members (standing) + context_log `trust`      `events`
                         trust.changed, account.deleted          (account.deleted also: votes refused)
    agora.connections    connection.made / .removed           -> context_log `connection` (provenance, time)   `events`
                         member.blocked / .unblocked          -> context_log `block`                            `events`
    agora.conversations  message.post_linked                  -> context_log `solicitation`                     `events`
    agora.votes          vote.cast                            -> ballots + tallies (services/voting/tally.py)   `tally`

The `events` consumer only records context; every tally consumer replica reads `voting.context_log`
(services/voting/context_feed.py) and feeds it to its decision pipeline. Times in the log are epoch
seconds, ids their canonical text: the log's rows are what the pipeline's context events hold.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import CONNECTIONS, CONTENT, CONVERSATIONS, DEADLETTER, PROFILES
from services.kit.consumer import ConsumerWorker, Subscription
from services.kit.events import CloudEvent
from services.voting.config import SCHEMA
from services.voting.context_feed import CONTEXT_LOG_LOCK
from services.voting.models import ContextChange, Member
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


class _ProfileRegistered(BaseModel):
    member_id: uuid.UUID
    registered_at: datetime


class _EmailVerified(BaseModel):
    member_id: uuid.UUID
    verified_at: datetime


class _TrustChanged(BaseModel):
    member_id: uuid.UUID
    trust_level: str
    email_verified: bool
    registered_at: datetime


class _AccountDeleted(BaseModel):
    member_id: uuid.UUID
    deleted_at: datetime


class _ConnectionMade(BaseModel):
    a_id: uuid.UUID
    b_id: uuid.UUID
    provenance: str
    made_at: datetime


class _ConnectionRemoved(BaseModel):
    a_id: uuid.UUID
    b_id: uuid.UUID
    removed_at: datetime


class _Blocked(BaseModel):
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID
    blocked_at: datetime


class _Unblocked(BaseModel):
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID
    unblocked_at: datetime


class _PostLinked(BaseModel):
    sender_id: uuid.UUID
    recipient_ids: list[uuid.UUID]
    post_id: uuid.UUID
    at: datetime


async def _log(session: AsyncSession, kind: str, data: dict[str, Any], key: str | None) -> None:
    """Append a context change; `key` names what it is the whole latest state of (compaction drops the
    rows a later one of the same key supersedes), None for rows that expire (solicitations)."""
    # One appender at a time (held to commit): seqs are then committed in order, so a reader that read up
    # to seq N can never later find a row below N. Re-entrant within a transaction; cheap.
    await session.execute(select(func.pg_advisory_xact_lock(CONTEXT_LOG_LOCK)))
    await session.execute(insert(ContextChange).values(kind=kind, key=key, data=data))


def _pair(a: uuid.UUID, b: uuid.UUID) -> str:
    return f"{min(a, b)}|{max(a, b)}"


async def on_post_created(session: AsyncSession, event: CloudEvent) -> None:
    data = _PostCreated.model_validate(event.data)
    await Targets(session).add(data.post_id, "post", data.author_id, data.created_at)


async def on_comment_created(session: AsyncSession, event: CloudEvent) -> None:
    data = _CommentCreated.model_validate(event.data)
    await Targets(session).add(data.comment_id, "comment", data.author_id, data.created_at, post_id=data.post_id)


async def _standing(session: AsyncSession, member_id: uuid.UUID, **values: Any) -> None:
    """Upsert the member's standing with `values` and log the whole record as a trust signal."""
    stmt = insert(Member).values(member_id=member_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[Member.member_id], set_={**values, "updated_at": func.now()}))
    m = await session.scalar(select(Member).where(Member.member_id == member_id).execution_options(populate_existing=True))
    assert m is not None
    await _log(session, "trust", {
        "member": str(m.member_id), "registered_at": m.registered_at.timestamp() if m.registered_at else None,
        "email_verified": m.email_verified, "trust_level": m.trust_level, "deleted": m.deleted,
    }, str(m.member_id))


async def on_profile_registered(session: AsyncSession, event: CloudEvent) -> None:
    data = _ProfileRegistered.model_validate(event.data)
    await _standing(session, data.member_id, registered_at=data.registered_at)


async def on_email_verified(session: AsyncSession, event: CloudEvent) -> None:
    data = _EmailVerified.model_validate(event.data)
    await _standing(session, data.member_id, email_verified=True)


async def on_trust_changed(session: AsyncSession, event: CloudEvent) -> None:
    data = _TrustChanged.model_validate(event.data)
    await _standing(session, data.member_id, trust_level=data.trust_level, email_verified=data.email_verified, registered_at=data.registered_at)


async def on_account_deleted(session: AsyncSession, event: CloudEvent) -> None:
    data = _AccountDeleted.model_validate(event.data)
    await DeletedMembers(session).add(data.member_id, data.deleted_at)
    await _standing(session, data.member_id, deleted=True)


async def on_connection_made(session: AsyncSession, event: CloudEvent) -> None:
    data = _ConnectionMade.model_validate(event.data)
    await _log(session, "connection", {"a": str(data.a_id), "b": str(data.b_id), "at": data.made_at.timestamp(), "provenance": data.provenance},
               _pair(data.a_id, data.b_id))


async def on_connection_removed(session: AsyncSession, event: CloudEvent) -> None:
    data = _ConnectionRemoved.model_validate(event.data)
    await _log(session, "connection", {"a": str(data.a_id), "b": str(data.b_id), "at": data.removed_at.timestamp(), "removed": True},
               _pair(data.a_id, data.b_id))


async def on_member_blocked(session: AsyncSession, event: CloudEvent) -> None:
    data = _Blocked.model_validate(event.data)
    await _log(session, "block", {"blocker": str(data.blocker_id), "blocked": str(data.blocked_id), "at": data.blocked_at.timestamp()},
               f"{data.blocker_id}|{data.blocked_id}")


async def on_member_unblocked(session: AsyncSession, event: CloudEvent) -> None:
    data = _Unblocked.model_validate(event.data)
    await _log(session, "block", {"blocker": str(data.blocker_id), "blocked": str(data.blocked_id), "at": data.unblocked_at.timestamp(), "removed": True},
               f"{data.blocker_id}|{data.blocked_id}")


async def on_post_linked(session: AsyncSession, event: CloudEvent) -> None:
    data = _PostLinked.model_validate(event.data)
    await _log(session, "solicitation", {
        "sender": str(data.sender_id), "recipients": [str(r) for r in data.recipient_ids], "target": str(data.post_id), "at": data.at.timestamp(),
    }, None)


EVENTS = Subscription(
    name="voting.events",
    topics=[CONTENT, PROFILES, CONNECTIONS, CONVERSATIONS],
    handlers={
        "post.created": on_post_created, "comment.created": on_comment_created,
        "profile.registered": on_profile_registered, "email.verified": on_email_verified, "trust.changed": on_trust_changed,
        "account.deleted": on_account_deleted,
        "connection.made": on_connection_made, "connection.removed": on_connection_removed,
        "member.blocked": on_member_blocked, "member.unblocked": on_member_unblocked,
        "message.post_linked": on_post_linked,
    },
)


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, EVENTS, DEADLETTER)


CONSUMERS = {"events": events_consumer, "tally": tally_worker}
