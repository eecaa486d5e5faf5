"""Voting's data access: adds and queries, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.voting.config import SCHEMA
from services.voting.models import Ballot, DeletedMember, Finding, Tally, Target


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


class Decisions:
    """Standing votes with their decisions (the ballots), as moderators list them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def summary(self, target_id: uuid.UUID) -> tuple[tuple[int, int, int, int, int, float], list[tuple[str, int]]]:
        """((votes, counted, reduced, not_counted, score, trusted), [(reason, votes)]) over standing non-zero votes."""
        row = (await self.session.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE weight >= 1), count(*) FILTER (WHERE weight > 0 AND weight < 1), "
            "count(*) FILTER (WHERE weight <= 0), coalesce(sum(value), 0), coalesce(sum(value * weight), 0) "
            f"FROM {SCHEMA}.ballots WHERE target_id = :t AND value <> 0"), {"t": target_id})).one()
        reasons = (await self.session.execute(text(
            f"SELECT r, count(*) FROM {SCHEMA}.ballots, unnest(reasons) AS r WHERE target_id = :t AND value <> 0 AND weight < 1 "
            "GROUP BY r ORDER BY count(*) DESC, r"), {"t": target_id})).all()
        return (int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]), float(row[5])), [(r, int(n)) for r, n in reasons]

    async def of_target(self, target_id: uuid.UUID, discounted_only: bool, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Ballot]:
        q = select(Ballot).where(Ballot.target_id == target_id)
        if discounted_only:
            q = q.where(Ballot.weight < 1)
        if after is not None:
            q = q.where(tuple_(Ballot.cast_at, Ballot.voter_id) < tuple_(*after))
        return list(await self.session.scalars(q.order_by(Ballot.cast_at.desc(), Ballot.voter_id.desc()).limit(limit)))

    async def of_voter(self, voter_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Ballot]:
        """Discounted decisions only (the partial index ix_ballots_discounted serves them)."""
        q = select(Ballot).where(Ballot.voter_id == voter_id, Ballot.weight < 1)
        if after is not None:
            q = q.where(tuple_(Ballot.cast_at, Ballot.target_id) < tuple_(*after))
        return list(await self.session.scalars(q.order_by(Ballot.cast_at.desc(), Ballot.target_id.desc()).limit(limit)))


class Findings:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, finding_id: uuid.UUID) -> Finding | None:
        return await self.session.get(Finding, finding_id)

    async def page(self, target_id: uuid.UUID | None, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Finding]:
        q = select(Finding)
        if target_id is not None:
            q = q.where(Finding.target_id == target_id)
        if after is not None:
            q = q.where(tuple_(Finding.detected_at, Finding.finding_id) < tuple_(*after))
        return list(await self.session.scalars(q.order_by(Finding.detected_at.desc(), Finding.finding_id.desc()).limit(limit)))
