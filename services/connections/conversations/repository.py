"""Conversations' data access: adds and queries in the caller's transaction, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.connections.config import SCHEMA
from services.connections.repository import raw_connection
from services.connections.models import Block, Conversation, ConversationMember, ConversationReport, Message


async def in_transaction(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction.

    SQLAlchemy's asyncpg adapter opens the database transaction lazily, on the first statement it runs itself:
    a raw statement issued before that would run in autocommit — its row locks released at once, its writes
    committed whatever happens next. So when the session has not spoken yet, let it open the transaction first."""
    conn = await raw_connection(session)
    if not conn.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return conn


def direct_key(a: uuid.UUID, b: uuid.UUID) -> str:
    lo, hi = sorted((str(a), str(b)))
    return f"{lo}:{hi}"


class Conversations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- conversations ---------------------------------------------------------------------------
    def add(self, conversation: Conversation, member_ids: list[uuid.UUID], at: datetime) -> None:
        self.session.add(conversation)
        for m in member_ids:
            self.session.add(ConversationMember(conversation_id=conversation.conversation_id, member_id=m, joined_at=at,
                                                muted=False, last_delivered_seq=0, last_read_seq=0, joined_seq=0))

    async def add_members(self, conversation_id: uuid.UUID, member_ids: list[uuid.UUID], at: datetime, last_seq: int) -> list[uuid.UUID]:
        """Add members to a conversation whose row this transaction holds: new rows, or a member who had left comes
        back. They see the messages after `last_seq` only (their markers start there). Returns those actually added
        (not the ones already in it)."""
        conn = await in_transaction(self.session)
        rows = await conn.fetch(
            f"""INSERT INTO {SCHEMA}.conversation_members AS cm
                   (conversation_id, member_id, joined_at, muted, last_delivered_seq, last_read_seq, joined_seq)
                SELECT $1, m, $3, false, $4, $4, $4 FROM unnest($2::uuid[]) AS m
                ON CONFLICT (conversation_id, member_id) DO UPDATE
                SET left_at = NULL, joined_at = EXCLUDED.joined_at, joined_seq = EXCLUDED.joined_seq,
                    last_delivered_seq = greatest(cm.last_delivered_seq, EXCLUDED.last_delivered_seq),
                    last_read_seq = greatest(cm.last_read_seq, EXCLUDED.last_read_seq)
                WHERE cm.left_at IS NOT NULL
                RETURNING cm.member_id""",
            conversation_id, member_ids, at, last_seq,
        )
        added = {r["member_id"] for r in rows}
        return [m for m in member_ids if m in added]

    async def get(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def lock(self, conversation_id: uuid.UUID) -> Conversation | None:
        """The conversation row, locked: sends draw their `seq` under it, so a conversation's messages are
        numbered in commit order and a block or a declined request is seen by the next send at once."""
        return await self.session.scalar(
            select(Conversation).where(Conversation.conversation_id == conversation_id)
            .with_for_update(key_share=True).execution_options(populate_existing=True)
        )

    async def open_direct(self, a: uuid.UUID, b: uuid.UUID) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(Conversation.direct_key == direct_key(a, b), Conversation.closed_at.is_(None))
            .with_for_update(key_share=True).execution_options(populate_existing=True)
        )

    async def close_direct(self, a: uuid.UUID, b: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Conversation).where(Conversation.direct_key == direct_key(a, b), Conversation.closed_at.is_(None)).values(closed_at=at)
        )

    async def started_since(self, member_id: uuid.UUID, since: datetime, *, requests_only: bool) -> tuple[int, datetime | None]:
        """Conversations a member started themselves since `since` (introductions do not count), and the oldest."""
        q = select(func.count(), func.min(Conversation.created_at)).where(
            Conversation.created_by == member_id, Conversation.created_at > since, Conversation.origin == "member")
        if requests_only:
            q = q.where(Conversation.request_to.is_not(None))
        row = (await self.session.execute(q)).one()
        return int(row[0]), row[1]

    # -- members of a conversation --------------------------------------------------------------
    async def membership(self, conversation_id: uuid.UUID, member_id: uuid.UUID) -> ConversationMember | None:
        return await self.session.get(ConversationMember, (conversation_id, member_id), populate_existing=True)

    async def current_members(self, conversation_id: uuid.UUID) -> list[ConversationMember]:
        # populate_existing: markers may have moved through the raw send path since these rows were loaded.
        return list((await self.session.scalars(
            select(ConversationMember).where(ConversationMember.conversation_id == conversation_id, ConversationMember.left_at.is_(None))
            .order_by(ConversationMember.joined_at, ConversationMember.member_id).execution_options(populate_existing=True)
        )).all())

    async def advance_markers(self, conversation_id: uuid.UUID, member_id: uuid.UUID, seq: int, *, read: bool,
                              at: datetime) -> bool:
        """Move a member's delivered (and, with `read`, read) marker forward to `seq`; never backwards.
        True when the marker this call is about moved."""
        row = ConversationMember
        values: dict[str, Any] = {"last_delivered_seq": func.greatest(row.last_delivered_seq, seq)}
        moved = row.last_delivered_seq < seq
        if read:
            values.update(last_read_seq=func.greatest(row.last_read_seq, seq), last_read_at=at)
            moved = row.last_read_seq < seq
        result = await self.session.execute(
            update(row).where(row.conversation_id == conversation_id, row.member_id == member_id, moved)
            .values(**values).returning(row.member_id)
        )
        return result.first() is not None

    async def set_left(self, conversation_id: uuid.UUID, member_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(ConversationMember)
            .where(ConversationMember.conversation_id == conversation_id, ConversationMember.member_id == member_id)
            .values(left_at=at)
        )

    async def set_muted(self, conversation_id: uuid.UUID, member_id: uuid.UUID, muted: bool) -> None:
        await self.session.execute(
            update(ConversationMember)
            .where(ConversationMember.conversation_id == conversation_id, ConversationMember.member_id == member_id)
            .values(muted=muted)
        )

    async def audience(self, conversation_id: uuid.UUID, actor: uuid.UUID) -> list[uuid.UUID]:
        """Who is told about an actor's doing in a conversation: the other current members, except anyone blocked
        either way with the actor (in a group they do not see each other's messages, nor hear of them)."""
        return (await self.audience_and_muted(conversation_id, actor))[0]

    async def audience_and_muted(self, conversation_id: uuid.UUID, actor: uuid.UUID) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """The audience (above) and those of them who muted the conversation (the gateway does not stream to them)."""
        hidden = set(await self.hidden_from(actor))
        told = [m for m in await self.current_members(conversation_id) if m.member_id != actor and m.member_id not in hidden]
        return [m.member_id for m in told], [m.member_id for m in told if m.muted]

    async def hidden_from(self, member_id: uuid.UUID) -> list[uuid.UUID]:
        """Everyone blocked either way by this member: their messages are hidden from them in groups."""
        rows = await self.session.execute(
            select(Block.blocked_id).where(Block.blocker_id == member_id).union(select(Block.blocker_id).where(Block.blocked_id == member_id))
        )
        return [r[0] for r in rows]

    async def blocks_among(self, me: uuid.UUID, others: list[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
        rows = await self.session.execute(
            select(Block.blocker_id, Block.blocked_id).where(or_(
                and_(Block.blocker_id == me, Block.blocked_id.in_(others)), and_(Block.blocker_id.in_(others), Block.blocked_id == me)))
        )
        return [(r[0], r[1]) for r in rows]

    # -- the list of a member's conversations ------------------------------------------------------
    async def page(self, member_id: uuid.UUID, folder: str, hidden: list[uuid.UUID], limit: int,
                   after: tuple[datetime, uuid.UUID] | None) -> list[Any]:
        """A member's open conversations by last activity (newest first), each with its unread count: messages
        after the member's read marker, not their own, not deleted, not from anyone blocked either way.
        `requests` holds the message requests waiting for this member's answer; `inbox` everything else
        (a request the member sent stays in their inbox, a declined one too)."""
        folder_sql = ("c.request_status = 'pending' AND c.request_to = :me" if folder == "requests"
                      else "(c.request_to IS NULL OR c.request_to <> :me OR c.request_status = 'accepted')")
        cursor_sql = "AND (c.last_message_at, c.conversation_id) < (:at, :cid)" if after else ""
        rows = await self.session.execute(text(f"""
            SELECT c.conversation_id, c.kind, c.title, c.origin, c.created_by, c.request_status, c.request_to, c.created_at,
                   c.last_message_at, c.last_seq, cm.muted, cm.last_read_seq, cm.last_delivered_seq,
                   ARRAY(SELECT o.member_id FROM {SCHEMA}.conversation_members o
                         WHERE o.conversation_id = c.conversation_id AND o.left_at IS NULL ORDER BY o.joined_at, o.member_id) AS member_ids,
                   (SELECT count(*) FROM {SCHEMA}.messages m
                    WHERE m.conversation_id = c.conversation_id AND m.seq > cm.last_read_seq AND m.sender_id <> :me
                      AND m.deleted_at IS NULL AND m.sender_id <> ALL(CAST(:hidden AS uuid[]))) AS unread_count
            FROM {SCHEMA}.conversation_members cm
            JOIN {SCHEMA}.conversations c ON c.conversation_id = cm.conversation_id
            WHERE cm.member_id = :me AND cm.left_at IS NULL AND c.closed_at IS NULL AND {folder_sql} {cursor_sql}
            ORDER BY c.last_message_at DESC, c.conversation_id DESC
            LIMIT :limit"""),
            {"me": member_id, "hidden": hidden, "limit": limit, **({"at": after[0], "cid": after[1]} if after else {})},
        )
        return list(rows.mappings().all())

    async def unread_count(self, conversation_id: uuid.UUID, member_id: uuid.UUID, after_seq: int, hidden: list[uuid.UUID]) -> int:
        q = select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id, Message.seq > after_seq, Message.sender_id != member_id,
            Message.deleted_at.is_(None))
        if hidden:
            q = q.where(Message.sender_id.not_in(hidden))
        return int(await self.session.scalar(q) or 0)

    # -- the send path (raw asyncpg in the request's transaction: it is the hot write) -------------
    async def lock_member(self, member_id: uuid.UUID) -> bool:
        """The sender's member row FOR NO KEY UPDATE (as `Members.lock`); False when unknown or deleted. Through the
        session: as the first statement of a send it also opens the transaction the raw statements then join."""
        row = await self.session.execute(
            text(f"SELECT true FROM {SCHEMA}.members WHERE member_id = :m AND deleted_at IS NULL FOR NO KEY UPDATE"), {"m": member_id})
        return row.first() is not None

    async def lock_for_send(self, conversation_id: uuid.UUID, member_id: uuid.UUID, since: datetime) -> Any:
        """The conversation row locked (FOR NO KEY UPDATE), the sender's membership, and the sender's messages since
        `since` (count, oldest) for the rate limit, in one round trip. The count is exact only because the caller
        already holds the sender's row (`lock_member`): no other send of theirs can commit in between."""
        conn = await in_transaction(self.session)
        return await conn.fetchrow(
            f"""SELECT c.kind, c.created_by, c.request_status, c.request_to, c.closed_at, cm.member_id IS NOT NULL AS is_member, cm.left_at,
                       r.sent, r.oldest
                FROM {SCHEMA}.conversations c
                LEFT JOIN {SCHEMA}.conversation_members cm ON cm.conversation_id = c.conversation_id AND cm.member_id = $2
                CROSS JOIN LATERAL (SELECT count(*) AS sent, min(sent_at) AS oldest FROM {SCHEMA}.messages
                                    WHERE sender_id = $2 AND sent_at > $3) r
                WHERE c.conversation_id = $1
                FOR NO KEY UPDATE OF c""",
            conversation_id, member_id, since,
        )

    async def set_request_status(self, conversation_id: uuid.UUID, status: str) -> None:
        await self.session.execute(update(Conversation).where(Conversation.conversation_id == conversation_id).values(request_status=status))

    async def append(self, message_id: uuid.UUID, conversation_id: uuid.UUID, sender_id: uuid.UUID, body: str,
                     linked: list[uuid.UUID], at: datetime) -> tuple[int, list[uuid.UUID], list[uuid.UUID]]:
        """Draw the next seq, store the message, move the sender's markers to it (sending is reading), and return
        (seq, its audience: see `audience`, those of them who muted it) — one statement. The caller holds the
        conversation row."""
        conn = await in_transaction(self.session)
        row = await conn.fetchrow(
            f"""WITH c AS (
                    UPDATE {SCHEMA}.conversations SET last_seq = last_seq + 1, last_message_at = greatest(last_message_at, $4)
                    WHERE conversation_id = $1 RETURNING last_seq
                ), m AS (
                    INSERT INTO {SCHEMA}.messages (message_id, conversation_id, seq, sender_id, body, linked_post_ids, sent_at)
                    SELECT $5, $1, c.last_seq, $2, $3, $6::uuid[], $4 FROM c
                    RETURNING seq
                ), marker AS (
                    UPDATE {SCHEMA}.conversation_members cm
                    SET last_read_seq = greatest(cm.last_read_seq, m.seq), last_delivered_seq = greatest(cm.last_delivered_seq, m.seq),
                        last_read_at = $4
                    FROM m WHERE cm.conversation_id = $1 AND cm.member_id = $2
                ), r AS (
                    SELECT o.member_id, o.muted, o.joined_at FROM {SCHEMA}.conversation_members o
                    WHERE o.conversation_id = $1 AND o.left_at IS NULL AND o.member_id <> $2
                      AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.blocks b
                                      WHERE (b.blocker_id = o.member_id AND b.blocked_id = $2)
                                         OR (b.blocker_id = $2 AND b.blocked_id = o.member_id))
                )
                SELECT m.seq, ARRAY(SELECT member_id FROM r ORDER BY joined_at, member_id) AS recipients,
                       ARRAY(SELECT member_id FROM r WHERE muted ORDER BY joined_at, member_id) AS muted
                FROM m""",
            conversation_id, sender_id, body, at, message_id, linked,
        )
        return row["seq"], list(row["recipients"]), list(row["muted"])

    # -- messages --------------------------------------------------------------------------------

    async def message_for_update(self, conversation_id: uuid.UUID, message_id: uuid.UUID) -> Message | None:
        return await self.session.scalar(
            select(Message).where(Message.message_id == message_id, Message.conversation_id == conversation_id)
            .with_for_update().execution_options(populate_existing=True)
        )

    async def message(self, conversation_id: uuid.UUID, message_id: uuid.UUID) -> Message | None:
        return await self.session.scalar(select(Message).where(Message.message_id == message_id, Message.conversation_id == conversation_id))

    async def message_at(self, conversation_id: uuid.UUID, seq: int) -> Message | None:
        return await self.session.scalar(select(Message).where(Message.conversation_id == conversation_id, Message.seq == seq))

    async def messages(self, conversation_id: uuid.UUID, hidden: list[uuid.UUID], limit: int, *, before: int | None = None,
                       after: int | None = None, since: int = 0) -> list[Message]:
        """Up to `limit` messages in `seq` order: the newest (no bound), the ones just before `before`, or
        just after `after`; never those up to `since` (the reader's `joined_seq`)."""
        q = select(Message).where(Message.conversation_id == conversation_id, Message.seq > since)
        if hidden:
            q = q.where(Message.sender_id.not_in(hidden))
        if after is not None:
            rows = await self.session.scalars(q.where(Message.seq > after).order_by(Message.seq).limit(limit))
            return list(rows.all())
        if before is not None:
            q = q.where(Message.seq < before)
        rows = await self.session.scalars(q.order_by(Message.seq.desc()).limit(limit))
        return list(reversed(rows.all()))

    async def sent_since(self, sender_id: uuid.UUID, since: datetime) -> tuple[int, datetime | None]:
        """How many messages a member sent since `since`, and the oldest of them (the send-rate window)."""
        conn = await in_transaction(self.session)
        row = await conn.fetchrow(f"SELECT count(*), min(sent_at) FROM {SCHEMA}.messages WHERE sender_id = $1 AND sent_at > $2",
                                  sender_id, since)
        return int(row[0]), row[1]

    # -- reports ---------------------------------------------------------------------------------
    async def add_report(self, conversation_id: uuid.UUID, reporter_id: uuid.UUID, reason: str, at: datetime) -> bool:
        result = await self.session.execute(
            insert(ConversationReport).values(report_id=uuid.uuid4(), conversation_id=conversation_id, reporter_id=reporter_id,
                                              reason=reason, reported_at=at)
            .on_conflict_do_nothing().returning(ConversationReport.report_id)
        )
        return result.first() is not None

    # -- account deletion ------------------------------------------------------------------------
    async def forget(self, member_id: uuid.UUID, at: datetime) -> None:
        """Erase what the member wrote (the rows stay, as deleted messages, so others' pages and counts hold),
        take them out of every conversation, and close their direct conversations."""
        await self.session.execute(
            update(Message).where(Message.sender_id == member_id, or_(Message.body.is_not(None), func.cardinality(Message.linked_post_ids) > 0))
            .values(body=None, linked_post_ids=[], deleted_at=func.coalesce(Message.deleted_at, at))
        )
        theirs = select(ConversationMember.conversation_id).where(ConversationMember.member_id == member_id).scalar_subquery()
        await self.session.execute(
            update(Conversation).where(Conversation.conversation_id.in_(theirs), Conversation.kind == "direct", Conversation.closed_at.is_(None))
            .values(closed_at=at)
        )
        await self.session.execute(
            update(ConversationMember).where(ConversationMember.member_id == member_id, ConversationMember.left_at.is_(None)).values(left_at=at)
        )
