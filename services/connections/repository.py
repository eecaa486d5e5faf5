"""Connections' data access: adds and queries, never commits.

Most statements go through SQLAlchemy. The hot read paths (degrees, mutuals, suggestions) run on the
request's underlying asyncpg connection, inside the same transaction, because the SQLAlchemy async
layer costs ≈ 2.6× per simple query (docs: /work/shared/MEASURED.md; bench/connections_speed.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.connections.config import SCHEMA
from services.connections.models import Block, Dismissal, Edge, Follow, Introduction, Invitation, Member

OPEN_INTRODUCTION = ("requested", "forwarded")


async def raw_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, in the session's transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


class Members:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, member_id: uuid.UUID) -> Member | None:
        """A live member (not deleted), or None."""
        return await self.session.scalar(select(Member).where(Member.member_id == member_id, Member.deleted_at.is_(None)))

    async def lock(self, member_id: uuid.UUID) -> Member | None:
        """A live member, its row locked until the transaction ends: serialises one member's sends against their caps."""
        return await self.session.scalar(
            select(Member).where(Member.member_id == member_id, Member.deleted_at.is_(None)).with_for_update(key_share=True)  # FOR NO KEY UPDATE: FK checks (KEY SHARE) still pass
        )

    async def hold(self, *member_ids: uuid.UUID) -> set[uuid.UUID]:
        """The given members that are live, each row held FOR KEY SHARE until the transaction ends.

        An account deletion takes the row FOR UPDATE: a request holding it first makes the deletion wait
        (and then sweep up what the request wrote); a request coming second waits for the deletion and
        then no longer sees the member. Either way nothing new points at a deleted member."""
        rows = await self.session.scalars(
            select(Member.member_id).where(Member.member_id.in_(member_ids), Member.deleted_at.is_(None))
            .with_for_update(read=True, key_share=True)
        )
        return set(rows.all())

    async def lock_for_deletion(self, member_id: uuid.UUID) -> Member | None:
        return await self.session.scalar(select(Member).where(Member.member_id == member_id, Member.deleted_at.is_(None)).with_for_update())

    async def exists(self, member_id: uuid.UUID) -> bool:
        return (await self.get(member_id)) is not None

    async def add(self, member_id: uuid.UUID, handle: str, registered_at: datetime) -> None:
        await self.session.execute(
            insert(Member).values(member_id=member_id, handle=handle, registered_at=registered_at).on_conflict_do_nothing()
        )

    async def update_profile(self, member_id: uuid.UUID, handle: str | None, topics: list[str], updated_at: datetime) -> None:
        # Only a newer profile version wins: a redelivered or reordered older event changes nothing.
        values: dict[str, Any] = {"topics": topics, "profile_updated_at": updated_at}
        if handle:
            values["handle"] = handle
        await self.session.execute(
            update(Member)
            .where(Member.member_id == member_id, Member.deleted_at.is_(None),
                   or_(Member.profile_updated_at.is_(None), Member.profile_updated_at < updated_at))
            .values(**values)
        )

    async def anonymise(self, member_id: uuid.UUID, deleted_at: datetime) -> None:
        await self.session.execute(
            update(Member).where(Member.member_id == member_id)
            .values(handle="deleted", topics=[], deleted_at=deleted_at, invitations_restricted_until=None)
        )

    async def restrict_invitations(self, member_id: uuid.UUID, until: datetime) -> None:
        await self.session.execute(
            update(Member).where(Member.member_id == member_id)
            .values(invitations_restricted_until=func.greatest(func.coalesce(Member.invitations_restricted_until, until), until))
        )

    async def handles(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        conn = await raw_connection(self.session)
        rows = await conn.fetch(f"SELECT member_id, handle FROM {SCHEMA}.members WHERE member_id = ANY($1::uuid[])", ids)
        return {r["member_id"]: r["handle"] for r in rows}


async def pair_lock(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Serialise everything that changes the relation between two members (either direction)."""
    lo, hi = sorted((str(a), str(b)))
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"connections-pair:{lo}:{hi}"})


class Graph:
    """Connections (the adjacency table), follows and blocks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- connections -------------------------------------------------------------------------
    async def connected(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        return (await self.session.scalar(select(Edge.made_at).where(Edge.member_id == a, Edge.other_id == b))) is not None

    async def get_connection(self, a: uuid.UUID, b: uuid.UUID) -> Edge | None:
        return await self.session.get(Edge, (a, b))

    async def connect(self, a: uuid.UUID, b: uuid.UUID, provenance: str, made_at: datetime) -> bool:
        """Store both directions; False when they were already connected."""
        rows = [
            {"member_id": a, "other_id": b, "provenance": provenance, "made_at": made_at},
            {"member_id": b, "other_id": a, "provenance": provenance, "made_at": made_at},
        ]
        result = await self.session.execute(insert(Edge).values(rows).on_conflict_do_nothing().returning(Edge.member_id))
        return len(result.all()) == 2

    async def disconnect(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(Edge).where(or_(and_(Edge.member_id == a, Edge.other_id == b), and_(Edge.member_id == b, Edge.other_id == a)))
            .returning(Edge.member_id)
        )
        return len(result.all()) > 0

    async def disconnect_all(self, member_id: uuid.UUID) -> list[uuid.UUID]:
        """Remove every connection of a member; returns the former neighbours."""
        result = await self.session.execute(delete(Edge).where(Edge.member_id == member_id).returning(Edge.other_id))
        others = [r[0] for r in result]
        if others:
            await self.session.execute(delete(Edge).where(Edge.other_id == member_id))
        return others

    async def page(self, member_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Any]:
        """Newest first; `after` is the (made_at, other_id) of the last row of the previous page."""
        q = (
            select(Edge.other_id, Member.handle, Edge.provenance, Edge.made_at)
            .join(Member, Member.member_id == Edge.other_id)
            .where(Edge.member_id == member_id)
            .order_by(Edge.made_at.desc(), Edge.other_id.desc())
            .limit(limit)
        )
        if after is not None:
            q = q.where(tuple_(Edge.made_at, Edge.other_id) < tuple_(after[0], after[1]))
        return list((await self.session.execute(q)).all())

    async def count(self, member_id: uuid.UUID) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Edge).where(Edge.member_id == member_id)) or 0)

    # -- the hot read paths (asyncpg) ------------------------------------------------------------
    async def neighbour_sets(self, a: uuid.UUID, b: uuid.UUID) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        conn = await raw_connection(self.session)
        rows = await conn.fetch(f"SELECT member_id, other_id FROM {SCHEMA}.edges WHERE member_id = ANY($1::uuid[])", [a, b])
        na: set[uuid.UUID] = set()
        nb: set[uuid.UUID] = set()
        for member, other in rows:
            (na if member == a else nb).add(other)
        return na, nb

    async def bridge(self, left: set[uuid.UUID], right: set[uuid.UUID]) -> tuple[uuid.UUID, uuid.UUID] | None:
        conn = await raw_connection(self.session)
        # Joins on unnest() give the planner a hash join over the right set instead of a per-row ANY() scan.
        row = await conn.fetchrow(
            f"""SELECT e.member_id, e.other_id
                FROM unnest($1::uuid[]) AS l(id)
                JOIN {SCHEMA}.edges e ON e.member_id = l.id
                JOIN unnest($2::uuid[]) AS r(id) ON r.id = e.other_id
                LIMIT 1""",
            list(left), list(right),
        )
        return (row[0], row[1]) if row else None

    async def suggestions(self, member_id: uuid.UUID, limit: int) -> list[Any]:
        """Friends of friends, ranked by Adamic–Adar (a mutual connection with few connections says more
        than a hub), weighted up by the topics the two members share. Excludes existing connections,
        pending invitations either way, blocks either way, dismissals and deleted members."""
        conn = await raw_connection(self.session)
        return await conn.fetch(
            f"""WITH via AS MATERIALIZED (
                    -- my connections, each with its Adamic–Adar weight 1/ln(degree); the degree is an
                    -- index-only count, cheaper than materialising all friends of friends twice
                    SELECT e1.other_id AS via,
                           1.0 / ln(greatest((SELECT count(*) FROM {SCHEMA}.edges d WHERE d.member_id = e1.other_id), 2)::float8) AS weight
                    FROM {SCHEMA}.edges e1 WHERE e1.member_id = $1
                ), scored AS (
                    SELECT e2.other_id AS candidate, sum(v.weight) AS adamic_adar, count(*) AS mutuals
                    FROM via v JOIN {SCHEMA}.edges e2 ON e2.member_id = v.via
                    WHERE e2.other_id <> $1
                    GROUP BY e2.other_id
                )
                SELECT s.candidate AS member_id, m.handle, s.mutuals,
                       cardinality(ARRAY(SELECT unnest(m.topics) INTERSECT SELECT unnest(me.topics))) AS shared_topics,
                       s.adamic_adar * (1 + 0.25 * cardinality(ARRAY(SELECT unnest(m.topics) INTERSECT SELECT unnest(me.topics)))) AS score
                FROM scored s
                JOIN {SCHEMA}.members m ON m.member_id = s.candidate AND m.deleted_at IS NULL
                CROSS JOIN (SELECT topics FROM {SCHEMA}.members WHERE member_id = $1) me
                WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.edges x WHERE x.member_id = $1 AND x.other_id = s.candidate)
                  AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.suggestion_dismissals d WHERE d.member_id = $1 AND d.dismissed_id = s.candidate)
                  AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.blocks b
                                  WHERE (b.blocker_id = $1 AND b.blocked_id = s.candidate) OR (b.blocker_id = s.candidate AND b.blocked_id = $1))
                  AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.invitations i WHERE i.status = 'pending'
                                  AND ((i.from_id = $1 AND i.to_id = s.candidate) OR (i.from_id = s.candidate AND i.to_id = $1)))
                ORDER BY score DESC, s.mutuals DESC, s.candidate
                LIMIT $2""",
            member_id, limit,
        )

    # -- follows -------------------------------------------------------------------------------
    async def add_follow(self, follower: uuid.UUID, followee: uuid.UUID) -> Follow | None:
        """The new follow, or None when it already existed."""
        row = await self.session.execute(
            insert(Follow).values(follower_id=follower, followee_id=followee).on_conflict_do_nothing().returning(Follow)
        )
        return row.scalar_one_or_none()

    async def get_follow(self, follower: uuid.UUID, followee: uuid.UUID) -> Follow | None:
        return await self.session.get(Follow, (follower, followee))

    async def remove_follows(self, pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Delete the given (follower, followee) follows; returns those that existed."""
        if not pairs:
            return []
        result = await self.session.execute(
            delete(Follow).where(tuple_(Follow.follower_id, Follow.followee_id).in_(pairs)).returning(Follow.follower_id, Follow.followee_id)
        )
        return [(r[0], r[1]) for r in result]

    async def remove_all_follows(self, member_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID]]:
        result = await self.session.execute(
            delete(Follow).where(or_(Follow.follower_id == member_id, Follow.followee_id == member_id))
            .returning(Follow.follower_id, Follow.followee_id)
        )
        return [(r[0], r[1]) for r in result]

    # -- blocks --------------------------------------------------------------------------------
    async def add_block(self, blocker: uuid.UUID, blocked: uuid.UUID) -> Block | None:
        row = await self.session.execute(
            insert(Block).values(blocker_id=blocker, blocked_id=blocked).on_conflict_do_nothing().returning(Block)
        )
        return row.scalar_one_or_none()

    async def get_block(self, blocker: uuid.UUID, blocked: uuid.UUID) -> Block | None:
        return await self.session.get(Block, (blocker, blocked))

    async def remove_block(self, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(Block).where(Block.blocker_id == blocker, Block.blocked_id == blocked).returning(Block.blocker_id)
        )
        return result.first() is not None

    async def block_between(self, me: uuid.UUID, other: uuid.UUID) -> str | None:
        """'mine' when I blocked them, 'theirs' when they blocked me (theirs wins), None otherwise."""
        rows = (await self.session.execute(
            select(Block.blocker_id).where(or_(and_(Block.blocker_id == me, Block.blocked_id == other),
                                               and_(Block.blocker_id == other, Block.blocked_id == me)))
        )).scalars().all()
        if other in rows:
            return "theirs"
        return "mine" if me in rows else None

    async def viewable(self, me: uuid.UUID, other: uuid.UUID) -> tuple[bool, set[uuid.UUID]]:
        """(whether `other` is a live member, everyone blocked either way by `me`) in one round trip."""
        conn = await raw_connection(self.session)
        row = await conn.fetchrow(
            f"""SELECT EXISTS (SELECT 1 FROM {SCHEMA}.members WHERE member_id = $2 AND deleted_at IS NULL) AS live,
                       ARRAY(SELECT blocked_id FROM {SCHEMA}.blocks WHERE blocker_id = $1
                             UNION SELECT blocker_id FROM {SCHEMA}.blocks WHERE blocked_id = $1) AS hidden""",
            me, other,
        )
        return row["live"], set(row["hidden"])

    async def remove_blocks_of(self, member_id: uuid.UUID) -> None:
        await self.session.execute(delete(Block).where(or_(Block.blocker_id == member_id, Block.blocked_id == member_id)))

    # -- dismissed suggestions ------------------------------------------------------------------
    async def dismiss(self, member_id: uuid.UUID, dismissed: uuid.UUID) -> None:
        await self.session.execute(insert(Dismissal).values(member_id=member_id, dismissed_id=dismissed).on_conflict_do_nothing())

    async def remove_dismissals_of(self, member_id: uuid.UUID) -> None:
        await self.session.execute(delete(Dismissal).where(or_(Dismissal.member_id == member_id, Dismissal.dismissed_id == member_id)))


class Invitations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, invitation: Invitation) -> None:
        self.session.add(invitation)

    async def get(self, invitation_id: uuid.UUID) -> Invitation | None:
        return await self.session.get(Invitation, invitation_id)

    async def get_for_update(self, invitation_id: uuid.UUID) -> Invitation | None:
        """The invitation, row-locked: concurrent accept/decline/withdraw of one invitation take turns."""
        return await self.session.scalar(
            select(Invitation).where(Invitation.invitation_id == invitation_id).with_for_update().execution_options(populate_existing=True)
        )

    async def pending(self, from_id: uuid.UUID, to_id: uuid.UUID) -> Invitation | None:
        return await self.session.scalar(select(Invitation).where(Invitation.from_id == from_id, Invitation.to_id == to_id, Invitation.status == "pending"))

    async def pending_count(self, from_id: uuid.UUID) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.from_id == from_id, Invitation.status == "pending")) or 0)

    async def sent_since(self, from_id: uuid.UUID, since: datetime) -> tuple[int, datetime | None]:
        """How many invitations a member sent since `since`, and the oldest of them."""
        row = (await self.session.execute(
            select(func.count(), func.min(Invitation.created_at)).where(Invitation.from_id == from_id, Invitation.created_at > since)
        )).one()
        return int(row[0]), row[1]

    async def outcomes_since(self, from_id: uuid.UUID, since: datetime) -> tuple[int, int]:
        """(declined or expired, resolved by the invitee or by time) among a member's invitations resolved since `since`."""
        row = (await self.session.execute(
            select(
                func.count().filter(Invitation.status.in_(("declined", "expired"))),
                func.count().filter(Invitation.status.in_(("accepted", "declined", "expired"))),
            ).where(Invitation.from_id == from_id, Invitation.resolved_at > since)
        )).one()
        return int(row[0]), int(row[1])

    async def page(self, member_id: uuid.UUID, direction: str, status: str | None, limit: int,
                   after: tuple[datetime, uuid.UUID] | None) -> list[Invitation]:
        mine = Invitation.to_id == member_id if direction == "in" else Invitation.from_id == member_id
        q = select(Invitation).where(mine).order_by(Invitation.created_at.desc(), Invitation.invitation_id.desc()).limit(limit)
        if status:
            q = q.where(Invitation.status == status)
        if after is not None:
            q = q.where(tuple_(Invitation.created_at, Invitation.invitation_id) < tuple_(after[0], after[1]))
        return list((await self.session.scalars(q)).all())

    async def cancel_between(self, a: uuid.UUID, b: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Invitation).where(Invitation.status == "pending",
                                     or_(and_(Invitation.from_id == a, Invitation.to_id == b), and_(Invitation.from_id == b, Invitation.to_id == a)))
            .values(status="cancelled", resolved_at=at)
        )

    async def cancel_all_of(self, member_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Invitation).where(Invitation.status == "pending", or_(Invitation.from_id == member_id, Invitation.to_id == member_id))
            .values(status="cancelled", resolved_at=at)
        )
        await self.session.execute(update(Invitation).where(Invitation.from_id == member_id).values(note=None))

    async def expire_due(self, now: datetime, batch: int) -> list[Invitation]:
        """Mark up to `batch` overdue pending invitations expired; SKIP LOCKED lets an accept in flight win."""
        due = (
            select(Invitation.invitation_id).where(Invitation.status == "pending", Invitation.expires_at <= now)
            .order_by(Invitation.expires_at).limit(batch).with_for_update(skip_locked=True).scalar_subquery()
        )
        result = await self.session.scalars(
            update(Invitation).where(Invitation.invitation_id.in_(due)).values(status="expired", resolved_at=now).returning(Invitation)
        )
        return list(result.all())


class Introductions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, introduction: Introduction) -> None:
        self.session.add(introduction)

    async def get(self, introduction_id: uuid.UUID) -> Introduction | None:
        return await self.session.get(Introduction, introduction_id)

    async def get_for_update(self, introduction_id: uuid.UUID) -> Introduction | None:
        return await self.session.scalar(
            select(Introduction).where(Introduction.introduction_id == introduction_id).with_for_update().execution_options(populate_existing=True)
        )

    async def open_count(self, requester: uuid.UUID) -> int:
        return int(await self.session.scalar(
            select(func.count()).select_from(Introduction).where(Introduction.requester_id == requester, Introduction.status.in_(OPEN_INTRODUCTION))
        ) or 0)

    async def open_between(self, requester: uuid.UUID, target: uuid.UUID) -> Introduction | None:
        return await self.session.scalar(
            select(Introduction).where(Introduction.requester_id == requester, Introduction.target_id == target, Introduction.status.in_(OPEN_INTRODUCTION))
        )

    async def page(self, member_id: uuid.UUID, role: str, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Introduction]:
        column = {"requester": Introduction.requester_id, "introducer": Introduction.introducer_id, "target": Introduction.target_id}[role]
        q = select(Introduction).where(column == member_id)
        if role == "target":
            # The target sees a request only once the introducer has forwarded it.
            q = q.where(Introduction.status != "requested", or_(Introduction.declined_by.is_(None), Introduction.declined_by == "target"))
        q = q.order_by(Introduction.created_at.desc(), Introduction.introduction_id.desc()).limit(limit)
        if after is not None:
            q = q.where(tuple_(Introduction.created_at, Introduction.introduction_id) < tuple_(after[0], after[1]))
        return list((await self.session.scalars(q)).all())

    async def close_between(self, a: uuid.UUID, b: uuid.UUID, at: datetime) -> None:
        """Close open introductions in which both members take part (any roles)."""
        def part(m: uuid.UUID) -> Any:
            return or_(Introduction.requester_id == m, Introduction.introducer_id == m, Introduction.target_id == m)
        await self.session.execute(
            update(Introduction).where(part(a), part(b), Introduction.status.in_(OPEN_INTRODUCTION)).values(status="declined", updated_at=at)
        )

    async def close_all_of(self, member_id: uuid.UUID, at: datetime) -> None:
        involved = or_(Introduction.requester_id == member_id, Introduction.introducer_id == member_id, Introduction.target_id == member_id)
        await self.session.execute(
            update(Introduction).where(involved, Introduction.status.in_(OPEN_INTRODUCTION)).values(status="declined", updated_at=at)
        )
        await self.session.execute(
            update(Introduction).where(Introduction.requester_id == member_id).values(message="[deleted]")
        )
        await self.session.execute(
            update(Introduction).where(Introduction.introducer_id == member_id, Introduction.forward_note.is_not(None)).values(forward_note=None)
        )
