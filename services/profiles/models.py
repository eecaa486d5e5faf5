"""Profiles' tables, all in the `profiles` schema.

    accounts             credentials and trust signals (email verified, karma, level)
    profiles             the member's public face, one row per account, each field with a visibility;
                         search columns are kept by a trigger from the fields the visibility allows
    refresh_tokens       rotating refresh tokens grouped in families (one family per sign-in)
    email_verifications  single-use email verification tokens (only their hash is stored)
    login_failures       failed sign-in counters per account and per client address (throttling)
    connections          read model of 1st-degree connections, from connection events
    target_scores        read model of the latest tally score per authored target (karma)
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import schema_metadata
from services.kit.outbox import outbox_table
from services.profiles.config import SCHEMA


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        Index("uq_accounts_email_lower", func.lower("email"), unique=True),
        Index("uq_accounts_handle_lower", func.lower("handle"), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(Text)
    handle: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trust_level: Mapped[str] = mapped_column(Text, server_default="new")
    karma: Mapped[int] = mapped_column(BigInteger, server_default="0")


class Profile(Base):
    __tablename__ = "profiles"

    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Account.id, ondelete="CASCADE"), primary_key=True)
    handle: Mapped[str] = mapped_column(Text)  # copy of the account's (immutable) handle, for search
    display_name: Mapped[str | None] = mapped_column(Text)
    headline: Mapped[str | None] = mapped_column(Text)
    bio: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    visibility: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Maintained by the profiles_search trigger (migration 0002); never written by the application.
    search_public: Mapped[str | None] = mapped_column(TSVECTOR, server_default=None)
    search_connections: Mapped[str | None] = mapped_column(TSVECTOR, server_default=None)
    name_public: Mapped[str | None] = mapped_column(Text, server_default=None)
    name_connections: Mapped[str | None] = mapped_column(Text, server_default=None)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Account.id, ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailVerification(Base):
    __tablename__ = "email_verifications"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey(Account.id, ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(Text, primary_key=True)  # "email:<lowercased>" or "address:<client>"
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Connection(Base):
    """One row per pair (low_id < high_id); `changed_at` orders made/removed events that arrive out of order."""

    __tablename__ = "connections"

    low_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    high_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    connected: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TargetScore(Base):
    __tablename__ = "target_scores"

    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    score: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
