"""What voting publishes: votes (agora.votes), tallies (agora.tallies) and integrity findings
(agora.integrity); every key is the target id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from services.catalog import INTEGRITY, TALLIES, VOTES
from services.kit.events import EventType


class VoteCast(BaseModel):
    vote_id: uuid.UUID
    voter_id: uuid.UUID
    target_id: uuid.UUID
    target_kind: str
    author_id: uuid.UUID
    value: int
    cast_at: datetime
    origin: str | None = None
    device: str | None = None


class TallyUpdated(BaseModel):
    target_id: uuid.UUID
    target_kind: str
    author_id: uuid.UUID
    ups: int
    downs: int
    score: int
    version: int
    updated_at: datetime
    trusted_score: float = 0.0  # Σ value × weight of the standing votes (the decision pipeline's weights)
    reduced: int = 0  # standing votes counted with reduced weight
    not_counted: int = 0  # standing votes with weight 0


Outcome = Literal["counted", "reduced", "not_counted"]


class VoteOutcomeRevised(BaseModel):
    """A standing vote's decision changed after the fact (a ring or a solicitation found later); the
    target's tally.updated follows in the same transaction."""

    vote_id: uuid.UUID
    voter_id: uuid.UUID
    target_id: uuid.UUID
    author_id: uuid.UUID | None
    value: int
    outcome: Outcome
    weight: float
    reasons: list[str]  # reason codes (services/voting/integrity/reasons.py), the new one last
    previous_outcome: Outcome
    previous_weight: float
    revised_at: datetime  # event time of the finding


class ManipulationSuspected(BaseModel):
    """Votes on one target were found manipulated in one batch of the tally consumer. Carries counts,
    not voters: the author is told (their notification stream); moderators read the voters from
    GET /v1/moderation/findings/{finding_id}."""

    finding_id: uuid.UUID
    target_id: uuid.UUID
    target_kind: str
    author_id: uuid.UUID | None
    reasons: dict[str, int]  # reason code -> votes found with it
    votes_discounted: int  # votes of the finding now counted with reduced or no weight
    detected_at: datetime


VOTE_CAST = EventType("vote.cast", VOTES, VoteCast, "A member cast, changed or cleared a vote (value +1, -1 or 0).")
TALLY_UPDATED = EventType(
    "tally.updated", TALLIES, TallyUpdated,
    "A target's tally changed (raw and trusted score), aggregated per consumed batch; `version` grows with each change.",
)

VOTE_OUTCOME_REVISED = EventType(
    "vote.outcome_revised", INTEGRITY, VoteOutcomeRevised,
    "A standing vote's decision was revised after the fact (weight only drops); for moderation tools.",
)
MANIPULATION_SUSPECTED = EventType(
    "manipulation.suspected", INTEGRITY, ManipulationSuspected,
    "Manipulated votes found on a target (reason counts, no voter ids); told to the target's author.",
)

PUBLISHED = [VOTE_CAST, TALLY_UPDATED, VOTE_OUTCOME_REVISED, MANIPULATION_SUSPECTED]
