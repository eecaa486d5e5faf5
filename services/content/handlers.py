"""What content consumes, each event parsed with a local model of only the fields it needs (tolerant reader):

    agora.tallies      tally.updated         -> the ups/downs/score (and trusted score) copy on a post or comment,
                                                 and the ranks derived from it; only a newer `version` applies
    agora.connections  connection.made/removed, member.followed/unfollowed -> the network read model
    agora.profiles     account.deleted       -> the member's posts, comments and shares lose their author

The kernel's runner makes each event apply once (inbox + stored offsets); the handlers are also safe
against reordering: tallies compare versions, network edges compare instants.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import CONNECTIONS, DEADLETTER, PROFILES, TALLIES
from services.content import ranking
from services.content.config import SCHEMA
from services.content.repository import Network, Tallies, anonymise
from services.kit.consumer import ConsumerWorker, Subscription, parse_batch
from services.kit.events import CloudEvent

class _Tally(BaseModel):
    target_id: uuid.UUID
    target_kind: str
    ups: int
    downs: int
    score: int
    version: int
    trusted_score: float | None = None  # Σ value × weight: fractional (a reduced vote counts 0.5)


async def on_tally(session: AsyncSession, event: CloudEvent) -> None:
    """One tally at a time (the subscription uses `on_tallies`; kept as the baseline of bench/content_feeds.py)."""
    data = _Tally.model_validate(event.data)
    values: dict[str, Any] = {
        "ups": data.ups, "downs": data.downs, "score": data.score, "trusted": data.trusted_score, "version": data.version,
        "best": ranking.best(data.ups, data.downs), "controversial": ranking.controversial(data.ups, data.downs),
    }
    # Applied only over an older stored version: a repeat or a late, older tally changes nothing. A tally for
    # a target content does not have (or a kind it does not rank) changes nothing either.
    if data.target_kind == "post":
        await Tallies(session).apply_to_post(data.target_id, values)
    elif data.target_kind == "comment":
        await Tallies(session).apply_to_comment(data.target_id, values)


async def on_tallies(session: AsyncSession, events: list[CloudEvent]) -> list[tuple[CloudEvent, str]]:
    """The batch handler of `tally.updated` (the high-volume event here): per target only the batch's
    latest version is written, with one statement per kind; the stored-version guard still applies, so the
    result is the one the per-event handler gives, in 2 statements instead of 3 round trips per event."""
    tallies_in, rejected = parse_batch(events, _Tally)
    latest: dict[tuple[str, uuid.UUID], _Tally] = {}
    for data in tallies_in:
        if data.target_kind not in ("post", "comment"):
            continue  # a kind content does not rank
        key = (data.target_kind, data.target_id)
        known = latest.get(key)
        if known is None or known.version < data.version:
            latest[key] = data
    tallies = Tallies(session)
    for kind in ("post", "comment"):
        await tallies.apply_many(kind, [{
            "target": t.target_id, "ups": t.ups, "downs": t.downs, "score": t.score, "trusted": t.trusted_score, "version": t.version,
            "best": ranking.best(t.ups, t.downs), "controversial": ranking.controversial(t.ups, t.downs),
        } for (k, _), t in latest.items() if k == kind])
    return rejected


class _Connection(BaseModel):
    a_id: uuid.UUID
    b_id: uuid.UUID
    made_at: datetime | None = None
    removed_at: datetime | None = None


class _Follow(BaseModel):
    follower_id: uuid.UUID
    followee_id: uuid.UUID
    followed_at: datetime | None = None
    unfollowed_at: datetime | None = None


async def on_connection_made(session: AsyncSession, event: CloudEvent) -> None:
    data = _Connection.model_validate(event.data)
    await Network(session).connected(data.a_id, data.b_id, data.made_at or event.time)


async def on_connection_removed(session: AsyncSession, event: CloudEvent) -> None:
    data = _Connection.model_validate(event.data)
    await Network(session).disconnected(data.a_id, data.b_id, data.removed_at or event.time)


async def on_followed(session: AsyncSession, event: CloudEvent) -> None:
    data = _Follow.model_validate(event.data)
    await Network(session).followed(data.follower_id, data.followee_id, data.followed_at or event.time)


async def on_unfollowed(session: AsyncSession, event: CloudEvent) -> None:
    data = _Follow.model_validate(event.data)
    await Network(session).unfollowed(data.follower_id, data.followee_id, data.unfollowed_at or event.time)


class _AccountDeleted(BaseModel):
    member_id: uuid.UUID


async def on_account_deleted(session: AsyncSession, event: CloudEvent) -> None:
    await anonymise(session, _AccountDeleted.model_validate(event.data).member_id)


SUBSCRIPTION = Subscription(
    name="content.events",
    topics=[TALLIES, CONNECTIONS, PROFILES],
    handlers={
        "connection.made": on_connection_made,
        "connection.removed": on_connection_removed,
        "member.followed": on_followed,
        "member.unfollowed": on_unfollowed,
        "account.deleted": on_account_deleted,
    },
    batch_handlers={"tally.updated": on_tallies},
)


async def events_consumer(settings: Any) -> ConsumerWorker:
    return ConsumerWorker(settings, SCHEMA, SUBSCRIPTION, DEADLETTER)


CONSUMERS = {"events": events_consumer}
