"""Connections' request and response bodies. Request bodies are strict (unknown fields → 422)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from services.kit.web import Model


def _printable(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL, and other control characters in a note are never intended.
    if text is not None and any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise ValueError("must not contain control characters")
    return text


Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_printable)]


class FollowRead(BaseModel):
    follower_id: uuid.UUID
    followee_id: uuid.UUID
    created_at: datetime


class BlockRead(BaseModel):
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID
    created_at: datetime


class InvitationCreate(Model):
    to_id: uuid.UUID
    note: Text | None = Field(None, max_length=300, description="Optional personal note, up to 300 characters")
    via_suggestion: bool = Field(False, description="Sent from 'people you may know': the connection's provenance becomes 'suggestion'")


class InvitationRead(BaseModel):
    invitation_id: uuid.UUID
    from_id: uuid.UUID
    to_id: uuid.UUID
    note: str | None
    status: Literal["pending", "accepted", "declined", "withdrawn", "expired", "cancelled"]
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None


class InvitationPage(BaseModel):
    items: list[InvitationRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class ConnectionRead(BaseModel):
    member_id: uuid.UUID
    handle: str
    provenance: Literal["invitation", "introduction", "suggestion", "import"]
    made_at: datetime


class ConnectionPage(BaseModel):
    items: list[ConnectionRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class ConnectionCount(BaseModel):
    member_id: uuid.UUID
    count: int


class MemberRef(BaseModel):
    member_id: uuid.UUID
    handle: str


class DegreesRead(BaseModel):
    member_id: uuid.UUID
    degree: Literal[0, 1, 2, 3] | None = Field(description="0 yourself, 1st, 2nd or 3rd; null when further than 3rd")
    label: Literal["self", "1st", "2nd", "3rd", "beyond"]
    mutual_count: int
    mutuals: list[MemberRef] = Field(description="Up to 20 mutual connections, by handle")
    path: list[MemberRef] | None = Field(description="One shortest path from you to the member, both ends included; null beyond 3rd")


class IntroductionCreate(Model):
    introducer_id: uuid.UUID
    target_id: uuid.UUID
    message: Text = Field(min_length=1, max_length=500, description="Why you would like to meet them")


class IntroductionForward(Model):
    note: Text | None = Field(None, max_length=500, description="The introducer's own note to the target")


class IntroductionRead(BaseModel):
    introduction_id: uuid.UUID
    requester_id: uuid.UUID
    introducer_id: uuid.UUID
    target_id: uuid.UUID
    message: str
    forward_note: str | None
    status: Literal["requested", "forwarded", "accepted", "declined"]
    declined_by: Literal["introducer", "target"] | None
    created_at: datetime
    updated_at: datetime


class IntroductionPage(BaseModel):
    items: list[IntroductionRead]
    next_cursor: str | None


class SuggestionRead(BaseModel):
    member_id: uuid.UUID
    handle: str
    mutual_count: int
    shared_topics: int
    score: float


class SuggestionList(BaseModel):
    items: list[SuggestionRead]
