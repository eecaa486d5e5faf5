"""Voting's request and response bodies."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel

from services.kit.web import Model


class VoteCreate(Model):
    target_id: uuid.UUID
    value: Literal[-1, 0, 1]


class VoteAccepted(BaseModel):
    vote_id: uuid.UUID
    status: Literal["accepted"] = "accepted"


class TallyRead(BaseModel):
    target_id: uuid.UUID
    ups: int
    downs: int
    score: int
    version: int
