"""Voting's HTTP routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Header
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session
from services.voting import service
from services.voting.schemas import TallyRead, VoteAccepted, VoteCreate

router = APIRouter(prefix="/v1", tags=["votes"])


@router.post("/votes", status_code=202, response_model=VoteAccepted, responses=error_responses(400, 401, 404, 422))
async def cast_vote(
    body: VoteCreate,
    me: Principal = current_member,
    db: AsyncSession = session,
    x_agora_client_origin: str | None = Header(None, max_length=128, description="Hash of the client address (set by the gateway)"),
    x_agora_client_device: str | None = Header(None, max_length=128, description="Hash of the user agent (set by the gateway)"),
) -> VoteAccepted:
    """Vote +1, -1, or clear (0) on a target. Accepted at once; the tally follows within moments."""
    vote_id = await service.cast(db, me.member_id, body, x_agora_client_origin, x_agora_client_device)
    return VoteAccepted(vote_id=vote_id)


@router.get("/tallies/{target_id}", response_model=TallyRead, responses=error_responses(404, 422))
async def get_tally(target_id: uuid.UUID, db: AsyncSession = session) -> TallyRead:
    t = await service.get_tally(db, target_id)
    return TallyRead(target_id=t.target_id, ups=t.ups, downs=t.downs, score=t.ups - t.downs, version=t.version)
