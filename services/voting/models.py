"""Voting's tables, all in the `voting` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Double, Integer, SmallInteger, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import schema_metadata
from services.kit.outbox import outbox_table
from services.voting.config import SCHEMA


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Target(Base):
    """Read model of votable content (posts and comments), kept from content events: who authored what."""

    __tablename__ = "targets"
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    post_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)  # a comment's post


class Ballot(Base):
    """A member's current vote on a target: one per (target, voter), with the decision taken on it."""

    __tablename__ = "ballots"
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    voter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    vote_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    cast_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    weight: Mapped[float] = mapped_column(Double, default=1.0)  # 1 counted, 0 not counted, between: reduced
    reasons: Mapped[list[str] | None] = mapped_column(ARRAY(Text), nullable=True)


class Tally(Base):
    __tablename__ = "tallies"
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ups: Mapped[int] = mapped_column(BigInteger, default=0)
    downs: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    trusted_score: Mapped[float] = mapped_column(Double, default=0.0)
    reduced: Mapped[int] = mapped_column(BigInteger, default=0)
    not_counted: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeletedMember(Base):
    """Members whose account was deleted (from `account.deleted`): their votes are refused."""

    __tablename__ = "deleted_members"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Member(Base):
    """Voting's copy of a member's standing, from profile events; what the probation checks read."""

    __tablename__ = "members"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    trust_level: Mapped[str] = mapped_column(Text, default="new")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ContextChange(Base):
    """One change of what the checks know (connection, block, trust, solicitation), in commit order
    seq; read by every tally consumer replica (services/voting/context_feed.py)."""

    __tablename__ = "context_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(Text, nullable=True)  # what the row is the latest state of (None: expires)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Finding(Base):
    """Manipulation found on a target in one batch of the tally consumer (for moderators)."""

    __tablename__ = "findings"
    finding_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    reasons: Mapped[dict[str, int]] = mapped_column(JSONB)  # reason code -> votes found with it
    voters: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    votes_discounted: Mapped[int] = mapped_column(Integer)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
