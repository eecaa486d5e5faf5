"""Profiles' tables, all in the `profiles` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, Text, func
from sqlalchemy.dialects.postgresql import UUID
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


outbox = outbox_table(Base.metadata)
