"""Connections' data access: adds and queries, never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.connections.models import Follow, Member


class Graph:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def member_exists(self, member_id: uuid.UUID) -> bool:
        return (await self.session.scalar(select(Member.member_id).where(Member.member_id == member_id))) is not None

    async def add_member(self, member_id: uuid.UUID, handle: str, registered_at: object) -> None:
        await self.session.execute(
            insert(Member).values(member_id=member_id, handle=handle, registered_at=registered_at).on_conflict_do_nothing()
        )

    async def add_follow(self, follower: uuid.UUID, followee: uuid.UUID) -> Follow | None:
        """The new follow, or None when it already existed."""
        row = await self.session.execute(
            insert(Follow).values(follower_id=follower, followee_id=followee).on_conflict_do_nothing().returning(Follow)
        )
        return row.scalar_one_or_none()

    async def get_follow(self, follower: uuid.UUID, followee: uuid.UUID) -> Follow | None:
        return await self.session.get(Follow, (follower, followee))
