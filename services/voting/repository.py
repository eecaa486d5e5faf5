"""Voting's data access: adds and queries, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.voting.models import Ballot, DeletedMember, Tally, Target


class Targets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, target_id: uuid.UUID) -> Target | None:
        return await self.session.get(Target, target_id)

    async def get_many(self, target_ids: list[uuid.UUID]) -> dict[uuid.UUID, Target]:
        rows = await self.session.scalars(select(Target).where(Target.target_id.in_(target_ids)))
        return {t.target_id: t for t in rows}

    async def add(self, target_id: uuid.UUID, kind: str, author_id: uuid.UUID, created_at: datetime, post_id: uuid.UUID | None = None) -> None:
        await self.session.execute(
            insert(Target).values(target_id=target_id, kind=kind, author_id=author_id, created_at=created_at, post_id=post_id)
            .on_conflict_do_nothing()
        )


class Ballots:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, target_id: uuid.UUID, voter_id: uuid.UUID) -> Ballot | None:
        return await self.session.get(Ballot, (target_id, voter_id))


class Tallies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, target_id: uuid.UUID) -> Tally | None:
        return await self.session.get(Tally, target_id)


class DeletedMembers:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, member_id: uuid.UUID, deleted_at: datetime) -> None:
        await self.session.execute(insert(DeletedMember).values(member_id=member_id, deleted_at=deleted_at).on_conflict_do_nothing())

    async def contains(self, member_id: uuid.UUID) -> bool:
        return (await self.session.scalar(select(DeletedMember.member_id).where(DeletedMember.member_id == member_id))) is not None
