"""Voting's data access: adds and queries in the caller's session, never commits. The one exception is the
vote intake's hot path, `Casting`: one autocommit statement per group of requests, on the app's asyncpg pool."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

import asyncpg
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

    async def add(self, target_id: uuid.UUID, kind: str, author_id: uuid.UUID, created_at: datetime, post_id: uuid.UUID | None = None) -> None:
        await self.session.execute(
            insert(Target).values(target_id=target_id, kind=kind, author_id=author_id, created_at=created_at, post_id=post_id)
            .on_conflict_do_nothing()
        )


class VoteRow(NamedTuple):
    """A vote.cast outbox row as kit.outbox builds it, with two holes in the payload that only the database
    can fill: payload = head ‖ target kind ‖ mid ‖ target author ‖ tail (each filled value a JSON string)."""

    target_id: uuid.UUID
    id: str
    key: str
    headers: str  # JSON
    head: bytes
    mid: bytes
    tail: bytes


class CastRequest(NamedTuple):
    """One request's votes (one vote, or a batch that is accepted or refused as a whole)."""

    voter_id: uuid.UUID
    rows: list[VoteRow]


class Casting:
    """The acceptance of the votes of one or many requests in one statement and one round trip, in
    autocommit: read the targets, check each voter against the deleted members, and insert the outbox
    rows (with the targets' kind and author) of every request whose voter is not deleted and whose
    targets are all known; a refused request inserts nothing. Runs on an asyncpg pool or connection."""

    _SQL = f"""
        WITH votes AS (
            SELECT * FROM unnest($1::int4[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::jsonb[], $7::bytea[], $8::bytea[], $9::bytea[])
                WITH ORDINALITY AS v (request, voter_id, target_id, id, key, headers, head, mid, tail, ord)
        ), checked AS (
            SELECT v.*, t.kind, t.author_id, d.member_id IS NOT NULL AS deleted
            FROM votes v
            LEFT JOIN {SCHEMA}.targets t ON t.target_id = v.target_id
            LEFT JOIN {SCHEMA}.deleted_members d ON d.member_id = v.voter_id
        ), accepted AS (
            INSERT INTO {SCHEMA}.outbox (id, topic, key, type, headers, payload)
            SELECT c.id, $10, c.key, $11, c.headers,
                   c.head || convert_to(to_json(c.kind)::text, 'UTF8') || c.mid || convert_to(to_json(c.author_id::text)::text, 'UTF8') || c.tail
            FROM checked c
            WHERE c.request NOT IN (SELECT request FROM checked WHERE deleted OR kind IS NULL)
            ORDER BY c.ord
        )
        SELECT request, bool_or(deleted) AS deleted, coalesce(array_agg(target_id ORDER BY ord) FILTER (WHERE kind IS NULL), '{{}}') AS unknown
        FROM checked GROUP BY request"""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self.db = db

    async def cast(self, topic: str, event_type: str, requests: list[CastRequest]) -> list[tuple[bool, list[uuid.UUID]]]:
        """Per request, in order: (whether its voter's account was deleted, its unknown targets in the order
        of its rows); a request's rows were inserted, in their order, if and only if neither."""
        columns: list[list[object]] = [[] for _ in range(9)]
        for n, request in enumerate(requests):
            for row in request.rows:
                columns[0].append(n)
                columns[1].append(request.voter_id)
                for k, value in enumerate(row, start=2):
                    columns[k].append(value)
        found = {r["request"]: (bool(r["deleted"]), list(r["unknown"])) for r in await self.db.fetch(self._SQL, *columns, topic, event_type)}
        return [found[n] for n in range(len(requests))]


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


class Reads:
    """Batch reads for the gateway's views."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tallies(self, target_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, Tally | None]]:
        """(target, tally or None when it has no votes yet) for each known target, in the order asked."""
        known = set(await self.session.scalars(select(Target.target_id).where(Target.target_id.in_(target_ids))))
        tallies = {t.target_id: t for t in await self.session.scalars(select(Tally).where(Tally.target_id.in_(target_ids)))}
        return [(t, tallies.get(t)) for t in dict.fromkeys(target_ids) if t in known]

    async def ballots(self, voter_id: uuid.UUID, target_ids: list[uuid.UUID]) -> dict[uuid.UUID, Ballot]:
        rows = await self.session.scalars(select(Ballot).where(Ballot.voter_id == voter_id, Ballot.target_id.in_(target_ids)))
        return {b.target_id: b for b in rows}

    async def known(self, target_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        found = set(await self.session.scalars(select(Target.target_id).where(Target.target_id.in_(target_ids))))
        return [t for t in dict.fromkeys(target_ids) if t in found]

    async def connections_voted(self, member_id: uuid.UUID, target_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Per target, how many standing non-zero votes come from the member's current connections (the
        latest `connection` row of each pair in the context log; keys are "min|max" of the two ids)."""
        rows = await self.session.execute(text(f"""
            SELECT b.target_id, count(*) FROM {SCHEMA}.ballots b
            CROSS JOIN LATERAL (
                SELECT c.data FROM {SCHEMA}.context_log c
                WHERE c.kind = 'connection' AND c.key = least(b.voter_id::text COLLATE "C", CAST(:me AS text)) || '|'
                                                        || greatest(b.voter_id::text COLLATE "C", CAST(:me AS text))
                ORDER BY c.seq DESC LIMIT 1
            ) last
            WHERE b.target_id = ANY(CAST(:targets AS uuid[])) AND b.value <> 0 AND b.voter_id <> CAST(:me AS uuid)
              AND NOT coalesce((last.data->>'removed')::boolean, false)
            GROUP BY b.target_id"""), {"me": str(member_id), "targets": target_ids})
        return {t: int(n) for t, n in rows}


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
