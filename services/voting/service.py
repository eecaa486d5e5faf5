"""Voting's rules: casting a vote (the API side) and applying it to the tally (the consumer side)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import NotFound
from services.kit.outbox import Outbox
from services.voting import events
from services.voting.models import Tally, outbox as outbox_rows
from services.voting.repository import Ballots, Tallies, Targets
from services.voting.schemas import VoteCreate

outbox = Outbox(outbox_rows, source="agora/voting")


async def cast(session: AsyncSession, voter: uuid.UUID, data: VoteCreate, origin: str | None = None, device: str | None = None) -> uuid.UUID:
    target = await Targets(session).get(data.target_id)
    if target is None:
        raise NotFound(f"target {data.target_id} not found", code="target_not_found")
    vote_id = uuid.uuid4()
    await outbox.publish(
        session, events.VOTE_CAST,
        events.VoteCast(vote_id=vote_id, voter_id=voter, target_id=target.target_id, target_kind=target.kind,
                        author_id=target.author_id, value=data.value, cast_at=datetime.now(UTC), origin=origin, device=device),
        key=str(target.target_id), subject=str(target.target_id),
    )
    return vote_id


async def apply_vote(session: AsyncSession, vote: events.VoteCast) -> Tally | None:
    """One vote per member per target: a change replaces the earlier vote, a repeat changes nothing."""
    prev = await Ballots(session).replace(vote.voter_id, vote.target_id, vote.value, vote.vote_id, vote.cast_at)
    if prev == vote.value:
        return None
    d_ups = (vote.value == 1) - (prev == 1)
    d_downs = (vote.value == -1) - (prev == -1)
    tally = await Tallies(session).apply(vote.target_id, d_ups, d_downs)
    await outbox.publish(
        session, events.TALLY_UPDATED,
        events.TallyUpdated(target_id=tally.target_id, target_kind=vote.target_kind, author_id=vote.author_id, ups=tally.ups, downs=tally.downs, score=tally.ups - tally.downs,
                            version=tally.version, updated_at=tally.updated_at),
        key=str(tally.target_id), subject=str(tally.target_id),
    )
    return tally


async def get_tally(session: AsyncSession, target_id: uuid.UUID) -> Tally:
    tally = await Tallies(session).get(target_id)
    if tally is None:
        if await Targets(session).get(target_id) is None:
            raise NotFound(f"target {target_id} not found", code="target_not_found")
        return Tally(target_id=target_id, ups=0, downs=0, version=0)
    return tally
