"""Voting's tables, all in the `voting` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, SmallInteger, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import schema_metadata
from services.kit.outbox import outbox_table
from services.voting.config import SCHEMA


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Target(Base):
    """Read model of votable content (posts), kept from content events: who authored what."""

    __tablename__ = "targets"
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Ballot(Base):
    """A member's current vote on a target: one per (voter, target)."""

    __tablename__ = "ballots"
    voter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    vote_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    cast_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Tally(Base):
    __tablename__ = "tallies"
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ups: Mapped[int] = mapped_column(BigInteger, default=0)
    downs: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


outbox = outbox_table(Base.metadata)
