"""What content publishes (topic agora.content, key = post id — comments and shares too, so one post's
events stay in order on one partition)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from services.catalog import CONTENT
from services.kit.events import EventType


class PostCreated(BaseModel):
    post_id: uuid.UUID
    author_id: uuid.UUID
    kind: str
    topics: list[str]
    created_at: datetime
    title: str
    url: str | None = None


class PostUpdated(BaseModel):
    post_id: uuid.UUID
    author_id: uuid.UUID
    topics: list[str]
    updated_at: datetime
    revision: int
    title: str


class PostDeleted(BaseModel):
    post_id: uuid.UUID
    author_id: uuid.UUID
    deleted_at: datetime


class CommentCreated(BaseModel):
    comment_id: uuid.UUID
    post_id: uuid.UUID
    parent_id: uuid.UUID | None
    author_id: uuid.UUID
    created_at: datetime
    depth: int


class CommentDeleted(BaseModel):
    comment_id: uuid.UUID
    post_id: uuid.UUID
    author_id: uuid.UUID
    deleted_at: datetime


class PostShared(BaseModel):
    share_id: uuid.UUID
    post_id: uuid.UUID
    sharer_id: uuid.UUID
    shared_at: datetime
    post_author_id: uuid.UUID | None = None


POST_CREATED = EventType("post.created", CONTENT, PostCreated, "A post was published.")
POST_UPDATED = EventType("post.updated", CONTENT, PostUpdated, "A post's author edited it (title, body or topics); `revision` grows.")
POST_DELETED = EventType("post.deleted", CONTENT, PostDeleted, "A post's author deleted it (soft: its comments stay).")
COMMENT_CREATED = EventType("comment.created", CONTENT, CommentCreated, "A comment or reply was posted.")
COMMENT_DELETED = EventType("comment.deleted", CONTENT, CommentDeleted, "A comment's author deleted it (soft: its replies stay).")
POST_SHARED = EventType("post.shared", CONTENT, PostShared, "A member reshared a post.")

PUBLISHED = [POST_CREATED, POST_UPDATED, POST_DELETED, COMMENT_CREATED, COMMENT_DELETED, POST_SHARED]
