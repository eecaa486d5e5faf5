"""Profiles' data access: adds and queries, never commits (the request or consumed batch does)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles.config import SCHEMA
from services.profiles.models import Account, Connection, EmailVerification, LoginFailure, Profile, RefreshToken, TargetScore


class Accounts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def email_taken(self, email: str) -> bool:
        return (await self.session.scalar(select(Account.id).where(func.lower(Account.email) == email.lower()))) is not None

    async def handle_taken(self, handle: str) -> bool:
        return (await self.session.scalar(select(Account.id).where(func.lower(Account.handle) == handle.lower()))) is not None

    async def by_email(self, email: str) -> Account | None:
        return await self.session.scalar(select(Account).where(func.lower(Account.email) == email.lower()))

    async def get(self, member_id: uuid.UUID, *, lock: bool = False) -> Account | None:
        query = select(Account).where(Account.id == member_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def lock_many(self, member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
        """The accounts that exist among `member_ids`, locked in id order (two batches never deadlock)."""
        rows = await self.session.scalars(select(Account).where(Account.id.in_(member_ids)).order_by(Account.id).with_for_update())
        return {a.id: a for a in rows}

    async def exists(self, *member_ids: uuid.UUID) -> bool:
        found = await self.session.scalar(select(func.count()).select_from(Account).where(Account.id.in_(member_ids)))
        return found == len(set(member_ids))

    async def remove(self, account: Account) -> None:
        # Profile, refresh tokens and verification tokens go with it (ON DELETE CASCADE).
        await self.session.delete(account)
        await self.session.flush()


class Profiles:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, profile: Profile) -> None:
        self.session.add(profile)
        await self.session.flush()

    async def get(self, member_id: uuid.UUID, *, lock: bool = False) -> Profile | None:
        query = select(Profile).where(Profile.member_id == member_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def with_account(self, member_id: uuid.UUID) -> tuple[Profile, Account] | None:
        """The profile and its account in one round trip (every profile read needs both)."""
        row = (await self.session.execute(select(Profile, Account).join(Account, Account.id == Profile.member_id).where(Profile.member_id == member_id))).first()
        return (row[0], row[1]) if row else None

    async def with_accounts(self, member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[Profile, Account]]:
        rows = await self.session.execute(select(Profile, Account).join(Account, Account.id == Profile.member_id).where(Profile.member_id.in_(member_ids)))
        return {p.member_id: (p, a) for p, a in rows}

    async def search(
        self, *, q: str, near: Sequence[uuid.UUID], after: tuple[float, uuid.UUID] | None, limit: int, max_candidates: int,
    ) -> list[Any]:
        """Members matching `q` in the fields their visibility shows: public ones for everybody, plus the
        connections-only ones of the members in `near` (the reader's connections and the reader).
        Full-text match on the document, or word-trigram similarity on handle and name, ranked by both;
        keyset-paginated on (score, member_id). At most `max_candidates` public matches are ranked (in
        table order), so a term that matches a large share of members costs a bounded amount of work."""
        # Two branches, so the reader's connections are a hashed set rather than an array probed per row:
        # everybody else through the public document/name (GIN indexes), the reader's connections through
        # their connections document. Rank, page, and only then fetch the shown columns of the page's rows.
        rows = await self.session.execute(
            text(
                """
                WITH near AS (SELECT DISTINCT unnest(CAST(:near AS uuid[])) AS id),
                matches AS (
                    SELECT c.member_id, false AS near,
                           (ts_rank(c.search_public, websearch_to_tsquery('simple', :q)) + word_similarity(:ql, c.name_public))::float8 AS score
                    FROM (
                        SELECT p.member_id, p.search_public, p.name_public
                        FROM profiles p
                        WHERE (p.search_public @@ websearch_to_tsquery('simple', :q) OR :ql <% p.name_public)
                          AND p.member_id NOT IN (SELECT id FROM near)
                        LIMIT :max_candidates
                    ) c
                    UNION ALL
                    SELECT p.member_id, true,
                           (ts_rank(p.search_connections, websearch_to_tsquery('simple', :q)) + word_similarity(:ql, p.name_connections))::float8
                    FROM profiles p JOIN near ON near.id = p.member_id
                    WHERE p.search_connections @@ websearch_to_tsquery('simple', :q) OR :ql <% p.name_connections
                ),
                page AS (
                    SELECT member_id, near, score FROM matches
                    WHERE CAST(:after_score AS float8) IS NULL
                       OR score < CAST(:after_score AS float8)
                       OR (score = CAST(:after_score AS float8) AND member_id > CAST(:after_id AS uuid))
                    ORDER BY score DESC, member_id
                    LIMIT :limit
                )
                SELECT p.member_id, p.handle, p.display_name, p.headline, p.visibility, page.near, page.score
                FROM page JOIN profiles p ON p.member_id = page.member_id
                ORDER BY page.score DESC, page.member_id
                """
            ),
            {
                "q": q, "ql": q.lower(), "near": list(near), "limit": limit, "max_candidates": max_candidates,
                "after_score": after[0] if after else None, "after_id": after[1] if after else None,
            },
        )
        return list(rows)


class RefreshTokens:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def by_hash(self, token_hash: bytes) -> RefreshToken | None:
        return await self.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update())

    async def revoke_family(self, family_id: uuid.UUID, now: datetime, *, member_id: uuid.UUID | None = None) -> int:
        query = update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        if member_id is not None:
            query = query.where(RefreshToken.member_id == member_id)
        result = await self.session.execute(query.values(revoked_at=now))
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    async def revoke_member(self, member_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken).where(RefreshToken.member_id == member_id, RefreshToken.revoked_at.is_(None)).values(revoked_at=now)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    async def families(self, member_id: uuid.UUID) -> list[Any]:
        rows = await self.session.execute(
            select(
                RefreshToken.family_id,
                func.min(RefreshToken.created_at).label("started_at"),
                func.max(RefreshToken.created_at).label("last_refreshed_at"),
                func.max(RefreshToken.expires_at).label("expires_at"),
                func.bool_or(RefreshToken.revoked_at.is_not(None)).label("revoked"),
            )
            .where(RefreshToken.member_id == member_id)
            .group_by(RefreshToken.family_id)
            .order_by(func.min(RefreshToken.created_at))
        )
        return list(rows)


class EmailVerifications:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: EmailVerification) -> None:
        self.session.add(row)
        await self.session.flush()

    async def by_hash(self, token_hash: bytes) -> EmailVerification | None:
        return await self.session.scalar(select(EmailVerification).where(EmailVerification.token_hash == token_hash).with_for_update())

    async def latest_requested_at(self, member_id: uuid.UUID) -> datetime | None:
        return await self.session.scalar(select(func.max(EmailVerification.created_at)).where(EmailVerification.member_id == member_id))


class LoginFailures:
    """Counters of failed sign-ins. A counter starts over once `window` has passed since its last failure."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def locked_for(self, keys: Sequence[str], now: datetime) -> float:
        """Seconds until every key is unlocked (0 when none is locked)."""
        until = await self.session.scalar(
            select(func.max(LoginFailure.locked_until)).where(LoginFailure.key.in_(keys), LoginFailure.locked_until > now)
        )
        return (until - now).total_seconds() if until else 0.0

    async def record(self, key: str, now: datetime, window: timedelta) -> int:
        """Count one failure; returns the failures in the current window."""
        stmt = insert(LoginFailure).values(key=key, failures=1, last_failed_at=now, locked_until=None)
        stmt = stmt.on_conflict_do_update(
            index_elements=[LoginFailure.key],
            set_={
                "failures": case((LoginFailure.last_failed_at < now - window, 1), else_=LoginFailure.failures + 1),
                "last_failed_at": now,
            },
        ).returning(LoginFailure.failures)
        return int((await self.session.execute(stmt)).scalar_one())

    async def lock(self, key: str, until: datetime) -> None:
        await self.session.execute(update(LoginFailure).where(LoginFailure.key == key).values(locked_until=until))

    async def clear(self, key: str) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))


class Graph:
    """The read model of 1st-degree connections (one row per pair, low id first)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
        return (a, b) if a < b else (b, a)

    async def set(self, a: uuid.UUID, b: uuid.UUID, *, connected: bool, at: datetime) -> None:
        low, high = self.pair(a, b)
        stmt = insert(Connection).values(low_id=low, high_id=high, connected=connected, changed_at=at)
        # Only a newer fact wins: a `removed` delivered before its `made` is not undone by it.
        stmt = stmt.on_conflict_do_update(
            index_elements=[Connection.low_id, Connection.high_id],
            set_={"connected": stmt.excluded.connected, "changed_at": stmt.excluded.changed_at},
            where=Connection.changed_at < stmt.excluded.changed_at,
        )
        await self.session.execute(stmt)

    async def connected(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        low, high = self.pair(a, b)
        return bool(await self.session.scalar(select(Connection.connected).where(Connection.low_id == low, Connection.high_id == high)))

    async def connected_among(self, reader: uuid.UUID, others: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `others` the reader is connected to (one query)."""
        pairs = [self.pair(reader, o) for o in others if o != reader]
        if not pairs:
            return set()
        rows = await self.session.execute(text(
            f"SELECT c.low_id, c.high_id FROM {SCHEMA}.connections c JOIN unnest(CAST(:lows AS uuid[]), CAST(:highs AS uuid[])) AS x(l, h) "
            "ON c.low_id = x.l AND c.high_id = x.h WHERE c.connected"
        ), {"lows": [p[0] for p in pairs], "highs": [p[1] for p in pairs]})
        return {high if low == reader else low for low, high in rows}

    async def connections_of(self, member_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.execute(
            select(Connection.low_id, Connection.high_id).where(
                Connection.connected, or_(Connection.low_id == member_id, Connection.high_id == member_id)
            )
        )
        return [high if low == member_id else low for low, high in rows]

    async def forget(self, member_id: uuid.UUID) -> None:
        await self.session.execute(delete(Connection).where(or_(Connection.low_id == member_id, Connection.high_id == member_id)))


class Scores:
    """Latest tally score per authored target; karma is their sum."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, *, target_id: uuid.UUID, author_id: uuid.UUID, score: int, version: int, at: datetime) -> bool:
        """Store the score if its version is newer than the stored one; True when something changed."""
        stmt = insert(TargetScore).values(target_id=target_id, author_id=author_id, score=score, version=version, updated_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=[TargetScore.target_id],
            set_={"score": stmt.excluded.score, "version": stmt.excluded.version, "updated_at": stmt.excluded.updated_at},
            where=TargetScore.version < stmt.excluded.version,
        ).returning(TargetScore.target_id)
        return (await self.session.execute(stmt)).first() is not None

    async def apply_many(self, rows: list[tuple[uuid.UUID, uuid.UUID, int, int, datetime]]) -> set[uuid.UUID]:
        """`apply` for distinct targets (target, author, score, version, at) in one statement; the authors
        whose karma may have changed."""
        if not rows:
            return set()
        result = await self.session.execute(text(
            f"INSERT INTO {SCHEMA}.target_scores (target_id, author_id, score, version, updated_at) "
            "SELECT * FROM unnest(CAST(:t AS uuid[]), CAST(:a AS uuid[]), CAST(:s AS int[]), CAST(:v AS int8[]), CAST(:at AS timestamptz[])) "
            "ON CONFLICT (target_id) DO UPDATE SET score = excluded.score, version = excluded.version, updated_at = excluded.updated_at "
            f"WHERE {SCHEMA}.target_scores.version < excluded.version RETURNING author_id"
        ), {"t": [r[0] for r in rows], "a": [r[1] for r in rows], "s": [r[2] for r in rows], "v": [r[3] for r in rows], "at": [r[4] for r in rows]})
        return {r[0] for r in result}

    async def karma_many(self, author_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        rows = await self.session.execute(
            select(TargetScore.author_id, func.sum(TargetScore.score)).where(TargetScore.author_id.in_(author_ids)).group_by(TargetScore.author_id))
        out = dict.fromkeys(author_ids, 0)
        out.update({a: int(k) for a, k in rows})
        return out

    async def karma(self, author_id: uuid.UUID) -> int:
        return int(await self.session.scalar(select(func.coalesce(func.sum(TargetScore.score), 0)).where(TargetScore.author_id == author_id)) or 0)

    async def of_author(self, author_id: uuid.UUID) -> list[TargetScore]:
        return list(await self.session.scalars(select(TargetScore).where(TargetScore.author_id == author_id).order_by(TargetScore.updated_at)))

    async def forget(self, author_id: uuid.UUID) -> None:
        await self.session.execute(delete(TargetScore).where(TargetScore.author_id == author_id))
