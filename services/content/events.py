"""What content publishes (topic agora.content, key = post id)."""

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


POST_CREATED = EventType("post.created", CONTENT, PostCreated, "A post was published.")

PUBLISHED = [POST_CREATED]
