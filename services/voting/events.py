"""What voting publishes: votes (agora.votes, key = target id) and tallies (agora.tallies, key = target id)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from services.catalog import TALLIES, VOTES
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


VOTE_CAST = EventType("vote.cast", VOTES, VoteCast, "A member cast, changed or cleared a vote (value +1, -1 or 0).")
TALLY_UPDATED = EventType(
    "tally.updated", TALLIES, TallyUpdated,
    "A target's tally changed (raw and trusted score), aggregated per consumed batch; `version` grows with each change.",
)

PUBLISHED = [VOTE_CAST, TALLY_UPDATED]
