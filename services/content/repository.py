"""Content's data access: adds and queries, never commits."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.content.models import Post


class Posts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, post: Post) -> Post:
        self.session.add(post)
        await self.session.flush()
        await self.session.refresh(post, ["created_at"])
        return post

    async def get(self, post_id: uuid.UUID) -> Post | None:
        return await self.session.get(Post, post_id)
