"""Voting's data access: adds and queries, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.voting.models import Tally, Target


class Targets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, target_id: uuid.UUID) -> Target | None:
        return await self.session.get(Target, target_id)

    async def add(self, target_id: uuid.UUID, kind: str, author_id: uuid.UUID, created_at: datetime) -> None:
        await self.session.execute(
            insert(Target).values(target_id=target_id, kind=kind, author_id=author_id, created_at=created_at).on_conflict_do_nothing()
        )


class Ballots:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, voter: uuid.UUID, target: uuid.UUID, value: int, vote_id: uuid.UUID, cast_at: datetime) -> int:
        """Store the member's vote; return the previous value (0 when none). Older votes never replace newer ones."""
        prev = (await self.session.execute(
            text("SELECT value, cast_at FROM ballots WHERE voter_id = :v AND target_id = :t FOR UPDATE"), {"v": voter, "t": target}
        )).first()
        if prev is not None and prev.cast_at > cast_at:
            return value  # a late, older vote: the newer one stands; report "no change"
        await self.session.execute(
            text(
                "INSERT INTO ballots (voter_id, target_id, value, vote_id, cast_at) VALUES (:v, :t, :val, :id, :at) "
                "ON CONFLICT (voter_id, target_id) DO UPDATE SET value = excluded.value, vote_id = excluded.vote_id, cast_at = excluded.cast_at"
            ),
            {"v": voter, "t": target, "val": value, "id": vote_id, "at": cast_at},
        )
        return prev.value if prev is not None else 0


class Tallies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, target_id: uuid.UUID) -> Tally | None:
        return await self.session.get(Tally, target_id)

    async def apply(self, target: uuid.UUID, d_ups: int, d_downs: int) -> Tally:
        row = await self.session.execute(
            text(
                "INSERT INTO tallies (target_id, ups, downs, version, updated_at) VALUES (:t, :u, :d, 1, now()) "
                "ON CONFLICT (target_id) DO UPDATE SET ups = tallies.ups + :u, downs = tallies.downs + :d, "
                "version = tallies.version + 1, updated_at = now() RETURNING target_id, ups, downs, version, updated_at"
            ),
            {"t": target, "u": d_ups, "d": d_downs},
        )
        r = row.one()
        return Tally(target_id=r.target_id, ups=r.ups, downs=r.downs, version=r.version, updated_at=r.updated_at)

    async def exists(self, target: uuid.UUID) -> bool:
        return (await self.session.scalar(select(Tally.target_id).where(Tally.target_id == target))) is not None
