"""Voting's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.kit.web import Model

MAX_BATCH = 500


class VoteCreate(Model):
    target_id: uuid.UUID
    value: Literal[-1, 0, 1]


class VoteBatchCreate(Model):
    """Votes a client queued offline, validated all together: one bad vote rejects the whole batch."""

    votes: list[VoteCreate] = Field(min_length=1, max_length=MAX_BATCH)


class VoteAccepted(BaseModel):
    vote_id: uuid.UUID
    status: Literal["accepted"] = "accepted"


class VoteBatchAccepted(BaseModel):
    vote_ids: list[uuid.UUID]  # in the order of the request's votes
    status: Literal["accepted"] = "accepted"


class MyVoteRead(BaseModel):
    """The member's current vote on a target as the tally consumer applied it (value 0: none or cleared)."""

    target_id: uuid.UUID
    value: Literal[-1, 0, 1]
    vote_id: uuid.UUID | None
    cast_at: datetime | None


class TallyRead(BaseModel):
    target_id: uuid.UUID
    ups: int
    downs: int
    score: int
    trusted_score: float
    version: int
