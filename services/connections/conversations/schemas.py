"""Conversations' request and response bodies. Request bodies are strict (unknown fields → 422)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from services.connections.schemas import Text
from services.kit.errors import Unprocessable
from services.kit.web import Model

def _message_text() -> Any:
    return Field(min_length=1, max_length=4000,
                 description="The message, 1–4000 characters (trimmed); links to Agora posts are recognised (docs/conversations.md)")


ReportReason = Literal["spam", "harassment", "solicitation", "scam", "other"]


class ConversationCreate(Model):
    member_ids: list[uuid.UUID] = Field(min_length=1, max_length=99, description="One member: a direct conversation (reused while "
                                        "open); several: a group with all of them, only your connections")
    body: Text = _message_text()
    title: Text | None = Field(None, min_length=1, max_length=100, description="Groups only")


class MembersAdd(Model):
    member_ids: list[uuid.UUID] = Field(min_length=1, max_length=99, description="Your connections to add to the group; members "
                                        "already in it are left as they are")


class MembersAdded(BaseModel):
    added: list[uuid.UUID] = Field(description="The members added by this request (not those already in it)")
    member_ids: list[uuid.UUID] = Field(description="Current members, you included")


class MessageCreate(Model):
    body: Text = _message_text()


class MessageUpdate(Model):
    body: Text = _message_text()


class ReadMarkerCreate(Model):
    message_id: uuid.UUID = Field(description="The newest message you have read; the marker never moves backwards")


class ReportCreate(Model):
    reason: ReportReason


class MessageRead(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int = Field(description="The message's place in its conversation (1, 2, …), the unit of read/delivered markers")
    sender_id: uuid.UUID
    body: str | None = Field(description="null once the sender deleted it or their account was deleted")
    linked_post_ids: list[uuid.UUID]
    sent_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    delivered_to: list[uuid.UUID] = Field(description="Other current members whose delivered marker reached this message")
    read_by: list[uuid.UUID] = Field(description="Other current members whose read marker reached this message")


class MemberState(BaseModel):
    member_id: uuid.UUID
    handle: str
    joined_at: datetime
    last_delivered_seq: int
    last_read_seq: int
    last_read_at: datetime | None


class ConversationRead(BaseModel):
    conversation_id: uuid.UUID
    kind: Literal["direct", "group"]
    title: str | None
    origin: Literal["member", "introduction"]
    created_by: uuid.UUID
    member_ids: list[uuid.UUID] = Field(description="Current members, you included")
    request_status: Literal["pending", "accepted", "declined"] | None = Field(description="Set when a member started it as a message "
                                                                                         "request to a non-connection")
    request_to: uuid.UUID | None
    created_at: datetime
    last_message_at: datetime
    last_seq: int
    unread_count: int
    muted: bool


class ConversationDetail(ConversationRead):
    members: list[MemberState]


class ConversationPage(BaseModel):
    items: list[ConversationRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class ConversationStarted(BaseModel):
    conversation: ConversationRead
    message: MessageRead


class MessagePage(BaseModel):
    items: list[MessageRead] = Field(description="Oldest first")
    older_cursor: str | None = Field(description="Pass as `cursor` for the messages before these; null at the start")
    newer_cursor: str = Field(description="Pass as `cursor` for the messages after these (poll with it for new ones)")


def encode_cursor(direction: Literal["before", "after"], seq: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([direction[0], seq])).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int | None, int | None]:
    """(before, after) from a message-page cursor; a malformed one is a 422."""
    if cursor is None:
        return None, None
    try:
        direction, seq = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if direction not in ("b", "a") or not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**62:
            raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Unprocessable("cursor is not one this API returned; start again without it", code="invalid_cursor") from None
    return (seq, None) if direction == "b" else (None, seq)
