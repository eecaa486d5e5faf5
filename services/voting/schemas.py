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


class TallyList(BaseModel):
    items: list[TallyRead] = Field(description="in the order asked; unknown targets are left out")


class MyVoteList(BaseModel):
    items: list[MyVoteRead] = Field(description="one per known target asked for, in that order (value 0: no vote)")


class NetworkVotes(BaseModel):
    target_id: uuid.UUID
    connections_voted: int | None = Field(description="how many of the caller's connections vote on the target (up or down); "
                                          "null when fewer than 3, so that no single connection's vote can be inferred")


class NetworkVotesList(BaseModel):
    items: list[NetworkVotes]


Outcome = Literal["counted", "reduced", "not_counted"]


class ReasonCount(BaseModel):
    code: str = Field(description="reason code (stable API), e.g. `solicited_in_network_burst`")
    description: str
    votes: int


class TallySummary(BaseModel):
    """What the author (or a moderator) may know about a target's votes: counts by outcome and reason,
    never who voted."""

    target_id: uuid.UUID
    votes: int = Field(description="standing votes (one per member; clears excluded)")
    counted: int
    reduced: int
    not_counted: int
    score: int
    trusted_score: float
    reasons: list[ReasonCount] = Field(description="reasons found on discounted votes, most frequent first")
    summary: str = Field(examples=["40 votes, 9 not counted: part of a burst of votes from the author's own connections"])


class DecisionRead(BaseModel):
    vote_id: uuid.UUID
    voter_id: uuid.UUID
    target_id: uuid.UUID
    value: Literal[-1, 0, 1]
    outcome: Outcome
    weight: float
    reasons: list[str]
    cast_at: datetime


class DecisionPage(BaseModel):
    decisions: list[DecisionRead]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class FindingRead(BaseModel):
    finding_id: uuid.UUID
    target_id: uuid.UUID
    author_id: uuid.UUID | None
    reasons: dict[str, int]
    voters: list[uuid.UUID]
    votes_discounted: int
    detected_at: datetime


class FindingPage(BaseModel):
    findings: list[FindingRead]
    next_cursor: str | None
