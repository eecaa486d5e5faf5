"""Voting's tables, all in the `voting` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Double, SmallInteger, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
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


outbox = outbox_table(Base.metadata)
