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


VOTE_CAST = EventType("vote.cast", VOTES, VoteCast, "A member cast, changed or cleared a vote (value +1, -1 or 0).")
TALLY_UPDATED = EventType("tally.updated", TALLIES, TallyUpdated, "A target's tally changed; `version` grows with each change.")

PUBLISHED = [VOTE_CAST, TALLY_UPDATED]
