"""Voting's rules on the API side: casting votes (one or a batch), reading them back, reading tallies,
and explaining decisions (the author's summary, the moderation API).

Applying votes to tallies is the tally consumer's job (`services/voting/tally.py`), not this module's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from asyncpg import Pool
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import cursor as cursors
from services.kit.auth import Principal
from services.kit.coalesce import Coalescer
from services.kit.errors import BadRequest, Forbidden, NotFound
from services.kit.outbox import Outbox
from services.voting import events
from services.voting.integrity import reasons as reasons_catalogue
from services.voting.integrity.events import outcome_of
from services.voting.models import Ballot, Finding, Tally
from services.voting.models import outbox as outbox_rows
from services.voting.repository import Ballots, Casting, CastRequest, Decisions, Findings, Reads, Tallies, Targets, VoteRow
from services.voting.schemas import (
    DecisionPage,
    DecisionRead,
    FindingPage,
    FindingRead,
    MyVoteList,
    MyVoteRead,
    NetworkVotes,
    NetworkVotesList,
    ReasonCount,
    TallyList,
    TallyRead,
    TallySummary,
    VoteCreate,
)

outbox = Outbox(outbox_rows, source="agora/voting")


# --- casting votes (the hot write path) -----------------------------------------------------------------
#
# One statement per group of requests, in autocommit (repository.Casting): the requests that arrive while
# earlier ones are at the database go together in the next statement (kit.coalesce: a group commit, so a
# busy process pays one round trip, one commit and one relay wake-up per group instead of per vote; an idle
# one sends each request at once). The statement reads the targets, checks each voter and inserts a
# request's vote.cast outbox rows only if all of its checks pass, so a refused request leaves no row.
# The rows are built by kit.outbox as Outbox.publish builds them, except for the target's kind and author,
# which only the database knows at that moment: the event is built with a marker in each, the markers
# split the payload into head / mid / tail, and the statement puts the target's values (as JSON) in
# between — byte for byte the payload Outbox.publish would write. Markers are random per process, so no
# client-supplied value (origin, device) can collide with them; both fields precede those in VoteCast.
_KIND_MARK = "\x00" + uuid.uuid4().hex
_AUTHOR_MARK = uuid.uuid4()
_KIND_HOLE = orjson.dumps(_KIND_MARK)
_AUTHOR_HOLE = orjson.dumps(str(_AUTHOR_MARK))

VoteIntake = Coalescer[CastRequest, tuple[bool, list[uuid.UUID]]]


def vote_intake(db: Pool) -> VoteIntake:
    """The process's vote intake on its asyncpg pool (made once, in the app's lifespan)."""
    casting = Casting(db)

    async def run(requests: list[CastRequest]) -> list[tuple[bool, list[uuid.UUID]]]:
        return await casting.cast(events.VOTE_CAST.topic.name, events.VOTE_CAST.type, requests)

    # 4 statements in flight at most (of the pool's 10 connections), 64 requests each: at saturation a
    # server's backlog goes to the database in groups of tens.
    return Coalescer(run, max_items=64, concurrency=4)


def _vote_row(voter: uuid.UUID, target_id: uuid.UUID, value: int, at: datetime, origin: str | None, device: str | None) -> tuple[uuid.UUID, VoteRow]:
    vote_id = uuid.uuid4()
    vote = events.VoteCast(vote_id=vote_id, voter_id=voter, target_id=target_id, target_kind=_KIND_MARK, author_id=_AUTHOR_MARK,
                           value=value, cast_at=at, origin=origin, device=device)
    key = str(target_id)
    _, row = outbox.build(events.VOTE_CAST, vote, key=key, subject=key)
    head, rest = row["payload"].split(_KIND_HOLE, 1)
    mid, tail = rest.split(_AUTHOR_HOLE, 1)
    return vote_id, VoteRow(target_id, row["id"], key, orjson.dumps(row["headers"]).decode(), head, mid, tail)


def _deleted() -> Forbidden:
    return Forbidden("this member's account was deleted; it cannot vote", code="member_deleted")


async def cast(intake: VoteIntake, voter: uuid.UUID, data: VoteCreate, origin: str | None = None, device: str | None = None) -> uuid.UUID:
    """One vote: accepted (one outbox row) or refused (none)."""
    vote_id, row = _vote_row(voter, data.target_id, data.value, datetime.now(UTC), origin, device)
    deleted, unknown = await intake.submit(CastRequest(voter, [row]))
    if deleted:
        raise _deleted()
    if unknown:
        raise NotFound(f"target {data.target_id} not found", code="target_not_found")
    return vote_id


async def cast_many(intake: VoteIntake, voter: uuid.UUID, votes: list[VoteCreate], origin: str | None = None, device: str | None = None) -> list[uuid.UUID]:
    """All or nothing: every target must exist, or no vote is published."""
    # Votes of one batch keep their order: one microsecond apart, so a later vote on the same target wins.
    now = datetime.now(UTC)
    built = [_vote_row(voter, v.target_id, v.value, now + timedelta(microseconds=i), origin, device) for i, v in enumerate(votes)]
    deleted, unknown = await intake.submit(CastRequest(voter, [row for _, row in built]))
    if deleted:
        raise _deleted()
    if unknown:
        missing = list(dict.fromkeys(str(t) for t in unknown))
        raise NotFound(f"{len(unknown)} target(s) not found; no vote was accepted", code="target_not_found",
                       detail=[{"target_id": t} for t in missing])
    return [vote_id for vote_id, _ in built]


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


# --- batch reads (the gateway's views) -----------------------------------------------------------------

NETWORK_FLOOR = 3  # below this, "how many of my connections voted" is not told (it would give a vote away)


def _tally_read(target_id: uuid.UUID, t: Tally | None) -> TallyRead:
    if t is None:
        return TallyRead(target_id=target_id, ups=0, downs=0, score=0, trusted_score=0.0, version=0)
    return TallyRead(target_id=target_id, ups=t.ups, downs=t.downs, score=t.ups - t.downs, trusted_score=t.trusted_score, version=t.version)


async def tallies(session: AsyncSession, target_ids: list[uuid.UUID]) -> TallyList:
    return TallyList(items=[_tally_read(t, tally) for t, tally in await Reads(session).tallies(target_ids)])


async def my_votes(session: AsyncSession, voter: uuid.UUID, target_ids: list[uuid.UUID]) -> MyVoteList:
    reads = Reads(session)
    known = await reads.known(target_ids)
    ballots = await reads.ballots(voter, known)
    items = []
    for t in known:
        b = ballots.get(t)
        items.append(MyVoteRead(target_id=t, value=0, vote_id=None, cast_at=None) if b is None
                     else MyVoteRead(target_id=t, value=b.value, vote_id=b.vote_id, cast_at=b.cast_at))  # type: ignore[arg-type]
    return MyVoteList(items=items)


async def network_votes(session: AsyncSession, member: uuid.UUID, target_ids: list[uuid.UUID]) -> NetworkVotesList:
    reads = Reads(session)
    known = await reads.known(target_ids)
    counts = await reads.connections_voted(member, known)
    return NetworkVotesList(items=[
        NetworkVotes(target_id=t, connections_voted=n if (n := counts.get(t, 0)) >= NETWORK_FLOOR else None) for t in known
    ])


# --- explaining decisions -----------------------------------------------------------------------------

MODERATION_SCOPE = "moderation"


def is_moderator(me: Principal, moderator_ids: str) -> bool:
    return MODERATION_SCOPE in me.scopes or str(me.member_id) in {m.strip() for m in moderator_ids.split(",") if m.strip()}


def require_moderator(me: Principal, moderator_ids: str) -> None:
    if not is_moderator(me, moderator_ids):
        raise Forbidden("the moderation API is for moderators", code="not_a_moderator")


def _summary_text(votes: int, reduced: int, not_counted: int, reasons: list[tuple[str, int]]) -> str:
    text = f"{votes} vote{'s' if votes != 1 else ''}"
    parts = []
    if not_counted:
        parts.append(f"{not_counted} not counted")
    if reduced:
        parts.append(f"{reduced} counted with reduced weight")
    if parts:
        text += ", " + ", ".join(parts)
        # Manipulation first (what the author most needs to hear), then the most frequent.
        ranked = sorted(reasons, key=lambda r: (r[0] not in reasons_catalogue.MANIPULATION, -r[1], r[0]))
        labels = [reasons_catalogue.LABELS.get(code, code) for code, _ in ranked[:2]]
        if labels:
            text += ": " + "; ".join(labels)
    return text


async def summary(session: AsyncSession, me: Principal, target_id: uuid.UUID, moderator_ids: str) -> TallySummary:
    """The author's view of their target's votes: counts by outcome and reason, never who voted."""
    target = await Targets(session).get(target_id)
    if target is None:
        raise NotFound(f"target {target_id} not found", code="target_not_found")
    if target.author_id != me.member_id and not is_moderator(me, moderator_ids):
        raise Forbidden("only the author of a target (or a moderator) sees its vote summary", code="not_the_author")
    (votes, counted, reduced, not_counted, score, trusted), reasons = await Decisions(session).summary(target_id)
    return TallySummary(
        target_id=target_id, votes=votes, counted=counted, reduced=reduced, not_counted=not_counted, score=score, trusted_score=trusted,
        reasons=[ReasonCount(code=c, description=reasons_catalogue.DESCRIPTIONS.get(c, c), votes=n) for c, n in reasons],
        summary=_summary_text(votes, reduced, not_counted, reasons),
    )


def _decision(b: Ballot) -> DecisionRead:
    return DecisionRead(vote_id=b.vote_id, voter_id=b.voter_id, target_id=b.target_id, value=b.value, outcome=outcome_of(b.weight),  # type: ignore[arg-type]
                        weight=b.weight, reasons=list(b.reasons or ()), cast_at=b.cast_at)


async def decisions(session: AsyncSession, *, target_id: uuid.UUID | None, voter_id: uuid.UUID | None, discounted_only: bool,
                    cursor: str | None, limit: int) -> DecisionPage:
    if (target_id is None) == (voter_id is None):
        raise BadRequest("give exactly one of target_id and voter_id", code="one_filter_required")
    after = cursors.decode(cursor)
    if target_id is not None:
        rows = await Decisions(session).of_target(target_id, discounted_only, after, limit + 1)
        key = lambda b: (b.cast_at, b.voter_id)  # noqa: E731
    else:
        assert voter_id is not None
        rows = await Decisions(session).of_voter(voter_id, after, limit + 1)
        key = lambda b: (b.cast_at, b.target_id)  # noqa: E731
    page = rows[:limit]
    nxt = cursors.encode(*key(page[-1])) if len(rows) > limit else None
    return DecisionPage(decisions=[_decision(b) for b in page], next_cursor=nxt)


def _finding(f: Finding) -> FindingRead:
    return FindingRead(finding_id=f.finding_id, target_id=f.target_id, author_id=f.author_id, reasons=f.reasons, voters=f.voters,
                       votes_discounted=f.votes_discounted, detected_at=f.detected_at)


async def findings(session: AsyncSession, *, target_id: uuid.UUID | None, cursor: str | None, limit: int) -> FindingPage:
    rows = await Findings(session).page(target_id, cursors.decode(cursor), limit + 1)
    page = rows[:limit]
    nxt = cursors.encode(page[-1].detected_at, page[-1].finding_id) if len(rows) > limit else None
    return FindingPage(findings=[_finding(f) for f in page], next_cursor=nxt)


async def finding(session: AsyncSession, finding_id: uuid.UUID) -> FindingRead:
    f = await Findings(session).get(finding_id)
    if f is None:
        raise NotFound(f"finding {finding_id} not found", code="finding_not_found")
    return _finding(f)
