"""Connections' tables, all in the `connections` schema.

The graph is an adjacency table: every connection is stored twice, (a, b) and (b, a), so "the
neighbours of X" is one index range scan on the primary key, whichever side X was on. Both rows are
written and deleted together by the repository, never one alone.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.connections.config import SCHEMA
from services.kit.db import schema_metadata
from services.kit.outbox import outbox_table

PROVENANCES = ("invitation", "introduction", "suggestion", "import")
INVITATION_STATUSES = ("pending", "accepted", "declined", "withdrawn", "expired", "cancelled")
INTRODUCTION_STATUSES = ("requested", "forwarded", "accepted", "declined")


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Member(Base):
    """Read model of profiles' members, kept from profile events. A deleted account is anonymised, not removed."""

    __tablename__ = "members"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    handle: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    profile_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    invitations_restricted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Edge(Base):
    """One direction of a connection; its twin (other_id, member_id) always exists too."""

    __tablename__ = "edges"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id), primary_key=True)
    other_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id), primary_key=True)
    provenance: Mapped[str] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("member_id <> other_id", name="not_self"),
        CheckConstraint(f"provenance IN {PROVENANCES}", name="provenance"),
        Index("ix_edges_member_id_made_at", "member_id", text("made_at DESC"), "other_id"),
    )


class Follow(Base):
    __tablename__ = "follows"
    follower_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    followee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Block(Base):
    __tablename__ = "blocks"
    blocker_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    blocked_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Invitation(Base):
    __tablename__ = "invitations"
    invitation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    from_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    to_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    via_suggestion: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Introduction(Base):
    __tablename__ = "introductions"
    introduction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    requester_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    introducer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    message: Mapped[str] = mapped_column(Text)
    forward_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    declined_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Dismissal(Base):
    """A suggestion the member dismissed: never suggested to them again."""

    __tablename__ = "suggestion_dismissals"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dismissed_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dismissed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Conversation(Base):
    """A direct (two members) or group (up to `group_max_members`) conversation. See docs/conversations.md."""

    __tablename__ = "conversations"
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    origin: Mapped[str] = mapped_column(Text)
    direct_key: Mapped[str | None] = mapped_column(Text)
    request_status: Mapped[str | None] = mapped_column(Text)
    request_to: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConversationMember(Base):
    """A member's place in a conversation: when they joined or left, mute, and their delivery and read markers
    (the `seq` of the last message delivered to / read by them; markers never move backwards). A member added to
    a group later sees the messages after `joined_seq` only."""

    __tablename__ = "conversation_members"
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Conversation.conversation_id), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    muted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    last_delivered_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    last_read_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    last_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # added to a group later: the conversation's last seq then; they see only the messages after it
    joined_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class Message(Base):
    """One message; `seq` orders a conversation. The text never leaves this schema (events carry ids only)."""

    __tablename__ = "messages"
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Conversation.conversation_id))
    seq: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    body: Mapped[str | None] = mapped_column(Text)
    linked_post_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), server_default=text("'{}'"))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConversationReport(Base):
    __tablename__ = "conversation_reports"
    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Conversation.conversation_id))
    reporter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Member.member_id))
    reason: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
