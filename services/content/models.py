"""Content's tables, all in the `content` schema (DDL: migrations/versions; these mirror it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.content.config import SCHEMA
from services.kit.db import schema_metadata
from services.kit.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Scored:
    """The copy of voting's tally for a post or comment, and the ranks derived from it."""

    ups: Mapped[int] = mapped_column(Integer, default=0)
    downs: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    trusted_score: Mapped[float | None] = mapped_column(Float)
    rank_score: Mapped[int] = mapped_column(Integer, default=0)  # trusted_score (rounded) when known, else score
    tally_version: Mapped[int] = mapped_column(BigInteger, default=0)
    best: Mapped[float] = mapped_column(Float, default=0.0)
    controversial: Mapped[float] = mapped_column(Float, default=0.0)


class Post(Scored, Base):
    __tablename__ = "posts"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    url_key: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hot: Mapped[float] = mapped_column(Float, default=0.0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_seq: Mapped[int] = mapped_column(Integer, default=0)
    share_count: Mapped[int] = mapped_column(Integer, default=0)
    search: Mapped[str | None] = mapped_column(TSVECTOR, deferred=True)  # kept by a trigger


class TopicPost(Base):
    """A post's entry in one topic's feed, with a copy of its ranks."""

    __tablename__ = "topic_posts"
    topic: Mapped[str] = mapped_column(Text, primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("posts.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hot: Mapped[float] = mapped_column(Float)
    rank_score: Mapped[int] = mapped_column(Integer)
    best: Mapped[float] = mapped_column(Float)
    controversial: Mapped[float] = mapped_column(Float)


class PostRevision(Base):
    __tablename__ = "post_revisions"
    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("posts.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text))
    editor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Comment(Scored, Base):
    __tablename__ = "comments"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("posts.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("comments.id"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    path: Mapped[str] = mapped_column(Text(collation="C"))
    depth: Mapped[int] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_to: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # who it answers: the post's or the parent's author


class Share(Base):
    __tablename__ = "shares"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("posts.id"))
    sharer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    comment: Mapped[str | None] = mapped_column(Text)
    comment_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Follow(Base):
    __tablename__ = "follows"
    follower_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    followee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    followed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unfollowed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Connection(Base):
    __tablename__ = "connections"
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    other_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


outbox = outbox_table(Base.metadata)
