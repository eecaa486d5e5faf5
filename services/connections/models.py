"""Connections' tables, all in the `connections` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.connections.config import SCHEMA
from services.kit.db import schema_metadata
from services.kit.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Member(Base):
    """Read model of profiles' members, kept from profile events."""

    __tablename__ = "members"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    handle: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Follow(Base):
    __tablename__ = "follows"
    follower_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    followee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


outbox = outbox_table(Base.metadata)
