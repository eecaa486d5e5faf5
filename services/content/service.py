"""Content's rules: publishing posts."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.content import events
from services.content.models import Post, outbox as outbox_rows
from services.content.repository import Posts
from services.content.schemas import PostCreate
from services.kit.errors import NotFound
from services.kit.outbox import Outbox

outbox = Outbox(outbox_rows, source="agora/content")


async def create_post(session: AsyncSession, author: uuid.UUID, data: PostCreate) -> Post:
    post = await Posts(session).add(
        Post(author_id=author, kind=data.kind, title=data.title, body=data.body, url=str(data.url) if data.url else None, topics=data.topics)
    )
    await outbox.publish(
        session, events.POST_CREATED,
        events.PostCreated(post_id=post.id, author_id=author, kind=post.kind, topics=post.topics, created_at=post.created_at),
        key=str(post.id), subject=str(post.id),
    )
    return post


async def get_post(session: AsyncSession, post_id: uuid.UUID) -> Post:
    post = await Posts(session).get(post_id)
    if post is None:
        raise NotFound(f"post {post_id} not found", code="post_not_found")
    return post
