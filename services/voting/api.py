"""Voting's HTTP routes."""

from __future__ import annotations

import uuid

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session
from services.voting import service
from services.voting.schemas import (
    DecisionPage,
    FindingPage,
    FindingRead,
    MyVoteList,
    MyVoteRead,
    NetworkVotesList,
    TallyList,
    TallyRead,
    TallySummary,
    VoteAccepted,
    VoteBatchAccepted,
    VoteBatchCreate,
    VoteCreate,
)

router = APIRouter(prefix="/v1", tags=["votes"])
moderation = APIRouter(prefix="/v1/moderation", tags=["moderation"])
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")]


def _moderators(request: Request) -> str:
    return request.app.state.settings.moderator_ids  # type: ignore[no-any-return]

_ORIGIN = Header(None, max_length=128, description="Hash of the client address (set by the gateway)")
_DEVICE = Header(None, max_length=128, description="Hash of the user agent (set by the gateway)")


async def _intake(request: Request) -> service.VoteIntake:  # async: FastAPI runs a plain def dependency in a thread
    return request.app.state.vote_intake  # type: ignore[no-any-return]


vote_intake = Depends(_intake)


def _accepted(body: VoteAccepted | VoteBatchAccepted) -> Response:
    # The vote intake is the hot path: its body is serialized here, by the model itself, instead of
    # FastAPI validating it again against response_model and encoding it (the same JSON).
    return Response(body.model_dump_json(), status_code=202, media_type="application/json")


@router.post("/votes", status_code=202, response_model=VoteAccepted, responses=error_responses(400, 401, 403, 404, 422))
async def cast_vote(
    body: VoteCreate,
    me: Principal = current_member,
    intake: service.VoteIntake = vote_intake,
    x_agora_client_origin: str | None = _ORIGIN,
    x_agora_client_device: str | None = _DEVICE,
) -> Response:
    """Vote +1, -1, or clear (0) on a target. Accepted at once; the tally follows within moments."""
    vote_id = await service.cast(intake, me.member_id, body, x_agora_client_origin, x_agora_client_device)
    return _accepted(VoteAccepted(vote_id=vote_id))


@router.post("/votes/batch", status_code=202, response_model=VoteBatchAccepted, responses=error_responses(400, 401, 403, 404, 413, 422))
async def cast_votes(
    body: VoteBatchCreate,
    me: Principal = current_member,
    intake: service.VoteIntake = vote_intake,
    x_agora_client_origin: str | None = _ORIGIN,
    x_agora_client_device: str | None = _DEVICE,
) -> Response:
    """Up to 500 votes queued offline, applied in order. All or nothing: one unknown target or invalid
    vote rejects the batch and no vote is published."""
    ids = await service.cast_many(intake, me.member_id, body.votes, x_agora_client_origin, x_agora_client_device)
    return _accepted(VoteBatchAccepted(vote_ids=ids))


@router.get("/votes/mine", response_model=MyVoteRead, responses=error_responses(401, 404, 422))
async def my_vote(target_id: uuid.UUID = Query(...), me: Principal = current_member, db: AsyncSession = session) -> MyVoteRead:
    """The caller's current vote on a target, as tallied (a vote just cast shows once the tally consumer
    applied it; value 0 with no vote id: never voted)."""
    b = await service.my_vote(db, me.member_id, target_id)
    if b is None:
        return MyVoteRead(target_id=target_id, value=0, vote_id=None, cast_at=None)
    return MyVoteRead(target_id=target_id, value=b.value, vote_id=b.vote_id, cast_at=b.cast_at)  # type: ignore[arg-type]


Targets = Annotated[list[uuid.UUID], Query(alias="target_id", min_length=1, max_length=100,
                                            description="repeat for each target: ?target_id=…&target_id=… (at most 100)")]


@router.get("/tallies", response_model=TallyList, responses=error_responses(422))
async def list_tallies(target_ids: Targets, db: AsyncSession = session) -> TallyList:
    """Several targets' tallies at once (a feed page's scores in one call)."""
    return await service.tallies(db, target_ids)


@router.get("/votes/mine/batch", response_model=MyVoteList, responses=error_responses(401, 422))
async def my_votes(target_ids: Targets, me: Principal = current_member, db: AsyncSession = session) -> MyVoteList:
    """The caller's current votes on several targets (unknown targets are left out)."""
    return await service.my_votes(db, me.member_id, target_ids)


@router.get("/tallies/network", response_model=NetworkVotesList, responses=error_responses(401, 422))
async def network_votes(target_ids: Targets, me: Principal = current_member, db: AsyncSession = session) -> NetworkVotesList:
    """How many of the caller's connections vote on each target — a count, never who, and only from 3 up."""
    return await service.network_votes(db, me.member_id, target_ids)


@router.get("/tallies/{target_id}", response_model=TallyRead, responses=error_responses(404, 422))
async def get_tally(target_id: uuid.UUID, db: AsyncSession = session) -> TallyRead:
    t = await service.get_tally(db, target_id)
    return TallyRead(target_id=t.target_id, ups=t.ups, downs=t.downs, score=t.ups - t.downs, trusted_score=t.trusted_score, version=t.version)


@router.get("/tallies/{target_id}/summary", response_model=TallySummary, responses=error_responses(401, 403, 404, 422))
async def tally_summary(target_id: uuid.UUID, request: Request, me: Principal = current_member, db: AsyncSession = session) -> TallySummary:
    """For the target's author (or a moderator): how many votes were counted, reduced or not counted and
    why ("40 votes, 9 not counted: in-network burst"). Never who voted."""
    return await service.summary(db, me, target_id, _moderators(request))


@moderation.get("/decisions", response_model=DecisionPage, responses=error_responses(400, 401, 403, 422))
async def list_decisions(
    request: Request,
    target_id: uuid.UUID | None = Query(None, description="every standing vote on this target, newest first"),
    voter_id: uuid.UUID | None = Query(None, description="this member's discounted (reduced or not counted) votes, newest first"),
    discounted: bool = Query(False, description="with target_id: only votes counted with reduced or no weight"),
    limit: Limit = 50,
    cursor: Cursor = None,
    me: Principal = current_member,
    db: AsyncSession = session,
) -> DecisionPage:
    """Moderators: each standing vote's decision (outcome, weight, reason codes). Exactly one of
    target_id and voter_id."""
    service.require_moderator(me, _moderators(request))
    return await service.decisions(db, target_id=target_id, voter_id=voter_id, discounted_only=discounted, cursor=cursor, limit=limit)


@moderation.get("/findings", response_model=FindingPage, responses=error_responses(401, 403, 422))
async def list_findings(
    request: Request,
    target_id: uuid.UUID | None = Query(None, description="only findings on this target"),
    limit: Limit = 50,
    cursor: Cursor = None,
    me: Principal = current_member,
    db: AsyncSession = session,
) -> FindingPage:
    """Moderators: manipulation found by the tally consumer, newest first, with the voters involved."""
    service.require_moderator(me, _moderators(request))
    return await service.findings(db, target_id=target_id, cursor=cursor, limit=limit)


@moderation.get("/findings/{finding_id}", response_model=FindingRead, responses=error_responses(401, 403, 404, 422))
async def get_finding(finding_id: uuid.UUID, request: Request, me: Principal = current_member, db: AsyncSession = session) -> FindingRead:
    service.require_moderator(me, _moderators(request))
    return await service.finding(db, finding_id)
