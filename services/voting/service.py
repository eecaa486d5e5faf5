"""Voting's rules on the API side: casting votes (one or a batch), reading them back, reading tallies.

Applying votes to tallies is the tally consumer's job (`services/voting/tally.py`), not this module's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Forbidden, NotFound
from services.kit.outbox import Outbox
from services.voting import events
from services.voting.models import Ballot, Tally, Target
from services.voting.models import outbox as outbox_rows
from services.voting.repository import Ballots, DeletedMembers, Tallies, Targets
from services.voting.schemas import VoteCreate

outbox = Outbox(outbox_rows, source="agora/voting")


async def _check_voter(session: AsyncSession, voter: uuid.UUID) -> None:
    if await DeletedMembers(session).contains(voter):
        raise Forbidden("this member's account was deleted; it cannot vote", code="member_deleted")


def _vote_cast(target: Target, voter: uuid.UUID, value: int, at: datetime, origin: str | None, device: str | None) -> tuple[uuid.UUID, events.VoteCast]:
    vote_id = uuid.uuid4()
    return vote_id, events.VoteCast(vote_id=vote_id, voter_id=voter, target_id=target.target_id, target_kind=target.kind,
                                    author_id=target.author_id, value=value, cast_at=at, origin=origin, device=device)


async def cast(session: AsyncSession, voter: uuid.UUID, data: VoteCreate, origin: str | None = None, device: str | None = None) -> uuid.UUID:
    await _check_voter(session, voter)
    target = await Targets(session).get(data.target_id)
    if target is None:
        raise NotFound(f"target {data.target_id} not found", code="target_not_found")
    vote_id, vote = _vote_cast(target, voter, data.value, datetime.now(UTC), origin, device)
    key = str(target.target_id)
    await outbox.publish(session, events.VOTE_CAST, vote, key=key, subject=key)
    return vote_id


async def cast_many(session: AsyncSession, voter: uuid.UUID, votes: list[VoteCreate], origin: str | None = None, device: str | None = None) -> list[uuid.UUID]:
    """All or nothing: every target must exist, or no vote is published."""
    await _check_voter(session, voter)
    targets = await Targets(session).get_many(list({v.target_id for v in votes}))
    unknown = [str(v.target_id) for v in votes if v.target_id not in targets]
    if unknown:
        raise NotFound(f"{len(unknown)} target(s) not found; no vote was accepted", code="target_not_found",
                       detail=[{"target_id": t} for t in dict.fromkeys(unknown)])
    # Votes of one batch keep their order: one microsecond apart, so a later vote on the same target wins.
    now = datetime.now(UTC)
    items, ids = [], []
    for i, v in enumerate(votes):
        vote_id, vote = _vote_cast(targets[v.target_id], voter, v.value, now + timedelta(microseconds=i), origin, device)
        key = str(v.target_id)
        items.append((events.VOTE_CAST, vote, key, key))
        ids.append(vote_id)
    await outbox.publish_many(session, items)
    return ids


async def my_vote(session: AsyncSession, voter: uuid.UUID, target_id: uuid.UUID) -> Ballot | None:
    ballot = await Ballots(session).get(target_id, voter)
    if ballot is None and await Targets(session).get(target_id) is None:
        raise NotFound(f"target {target_id} not found", code="target_not_found")
    return ballot


async def get_tally(session: AsyncSession, target_id: uuid.UUID) -> Tally:
    tally = await Tallies(session).get(target_id)
    if tally is None:
        if await Targets(session).get(target_id) is None:
            raise NotFound(f"target {target_id} not found", code="target_not_found")
        return Tally(target_id=target_id, ups=0, downs=0, version=0, trusted_score=0.0, reduced=0, not_counted=0)
    return tally
