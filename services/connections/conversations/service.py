"""Conversations' rules: who may message whom, message requests, limits, markers, and the events.

Every change and its events are written in the caller's transaction (outbox, topic agora.conversations,
key = conversation id). Events carry ids and times, never a message's text.

Locks, always in this order (the connections order, extended):
  1. the pair's advisory lock, when a direct conversation is found or created (as for invitations/blocks);
  2. the acting member's row `FOR NO KEY UPDATE`: one member's sends take turns, so the rate limits are
     counted exactly; an account deletion (row `FOR UPDATE`) waits for a send in flight and then erases it;
  3. the conversation row `FOR NO KEY UPDATE`: each message draws the next `seq` under it, so a
     conversation is numbered in commit order (a read marker at `seq` covers exactly the messages ≤ seq),
     and a block, a declined request or a deletion closing it is seen by the very next send.
A conversation a member may not see is always 404 `conversation_not_found`, whatever the reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from services.connections import events
from services.connections.config import Settings
from services.connections.conversations.links import linked_post_ids
from services.connections.conversations.repository import Conversations, direct_key
from services.connections.models import Conversation, ConversationMember, Introduction, Message, outbox as outbox_rows
from services.connections.repository import Graph, Members, pair_lock
from services.kit.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unprocessable
from services.kit.outbox import Outbox

outbox = Outbox(outbox_rows, source="agora/connections")


def now() -> datetime:
    return datetime.now(UTC)


def _not_found(conversation_id: uuid.UUID) -> NotFound:
    return NotFound(f"conversation {conversation_id} not found", code="conversation_not_found")


async def _locked_me(session: AsyncSession, me: uuid.UUID) -> None:
    if await Members(session).lock(me) is None:
        raise NotFound(f"your member account {me} is not known to connections yet; try again in a moment", code="caller_not_registered")


@dataclass(frozen=True)
class View:
    """A conversation as one member may see it."""

    conversation: Conversation
    me: ConversationMember


async def _view(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, *, lock: bool = False) -> View:
    repo = Conversations(session)
    conv = await (repo.lock(conversation_id) if lock else repo.get(conversation_id))
    mine = await repo.membership(conversation_id, me) if conv is not None else None
    if conv is None or mine is None or mine.left_at is not None or conv.closed_at is not None or (
            conv.request_status == "declined" and conv.request_to == me):
        raise _not_found(conversation_id)
    return View(conv, mine)


# -- limits ------------------------------------------------------------------------------------------

def _send_window(at: datetime) -> datetime:
    return at - timedelta(seconds=60)


async def _check_send_rate(session: AsyncSession, limits: Settings, sender: uuid.UUID, at: datetime,
                           counted: tuple[int, datetime | None] | None = None) -> None:
    """Refuse a send over the per-minute limit; `counted` is (sent, oldest) in the window when already read."""
    window = _send_window(at)
    sent, oldest = counted or await Conversations(session).sent_since(sender, window)
    if sent >= limits.message_rate_per_minute:
        raise TooManyRequests(f"you sent {sent} messages in the last minute, the most allowed; slow down",
                              retry_after=((oldest or at) - window).total_seconds(), detail={"cap": limits.message_rate_per_minute})


async def _check_new_conversation_rate(session: AsyncSession, limits: Settings, me: uuid.UUID, at: datetime, *, request: bool) -> None:
    repo = Conversations(session)
    hour_ago = at - timedelta(hours=1)
    started, oldest = await repo.started_since(me, hour_ago, requests_only=False)
    if started >= limits.new_conversations_per_hour:
        raise TooManyRequests(f"you started {started} conversations in the last hour, the most allowed",
                              retry_after=((oldest or at) - hour_ago).total_seconds(), detail={"cap": limits.new_conversations_per_hour})
    if request:
        day_ago = at - timedelta(days=1)
        asked, oldest = await repo.started_since(me, day_ago, requests_only=True)
        if asked >= limits.message_requests_per_day:
            raise TooManyRequests(f"you sent {asked} message requests to members you are not connected to in the last 24 hours, "
                                  "the most allowed", retry_after=((oldest or at) - day_ago).total_seconds(),
                                  detail={"cap": limits.message_requests_per_day})


# -- sending -----------------------------------------------------------------------------------------

async def _append(session: AsyncSession, conversation_id: uuid.UUID, sender: uuid.UUID, body: str, at: datetime,
                  conv: Conversation | None = None) -> Message:
    """Add a message to a conversation whose row this transaction holds, and announce it. The row is written on the
    raw connection (the hot path); the returned Message is a detached copy for the response. An ORM `conv`
    already loaded in the session is brought up to date without another statement."""
    links = linked_post_ids(body)
    mid = uuid.uuid4()
    seq, recipients, muted = await Conversations(session).append(mid, conversation_id, sender, body, links, at)
    if conv is not None:
        set_committed_value(conv, "last_seq", seq)
        set_committed_value(conv, "last_message_at", at)
    msg = Message(message_id=mid, conversation_id=conversation_id, seq=seq, sender_id=sender, body=body, linked_post_ids=links,
                  sent_at=at, edited_at=None, deleted_at=None)
    key = str(conversation_id)
    await outbox.publish_many(session, [
        (events.MESSAGE_SENT, events.MessageSent(message_id=mid, conversation_id=conversation_id, sender_id=sender,
                                                 recipient_ids=recipients, muted_ids=muted, sent_at=at, linked_post_ids=links),
         key, str(mid)),
        *[(events.MESSAGE_POST_LINKED, events.MessagePostLinked(conversation_id=conversation_id, message_id=mid, sender_id=sender,
                                                                recipient_ids=recipients, post_id=p, at=at), key, str(p))
          for p in links],
    ])
    return msg


@dataclass(frozen=True)
class Request:
    """The message-request side of a conversation."""

    conversation_id: uuid.UUID
    requester_id: uuid.UUID
    status: str | None
    to: uuid.UUID | None

    @classmethod
    def of(cls, conv: Conversation) -> "Request":
        return cls(conv.conversation_id, conv.created_by, conv.request_status, conv.request_to)

    def event(self, at: datetime) -> events.MessageRequestChanged:
        assert self.to is not None
        return events.MessageRequestChanged(conversation_id=self.conversation_id, requester_id=self.requester_id, recipient_id=self.to, at=at)


def _request_event(conv: Conversation, at: datetime) -> events.MessageRequestChanged:
    return Request.of(conv).event(at)


async def start(session: AsyncSession, limits: Settings, me: uuid.UUID, member_ids: list[uuid.UUID], body: str,
                title: str | None) -> tuple[Conversation, Message, bool]:
    """Start a conversation with one member (direct) or several (group), with a first message. Returns the
    conversation, the message and whether the conversation is new (a direct one is reused while open)."""
    others = list(dict.fromkeys(member_ids))
    if me in others:
        raise Unprocessable("do not list yourself in member_ids: you are in every conversation you start", code="self_message")
    if len(others) == 1:
        if title is not None:
            raise Unprocessable("only a group conversation has a title", code="direct_title")
        return await _start_direct(session, limits, me, others[0], body)
    if len(others) + 1 > limits.group_max_members:
        raise Unprocessable(f"a group conversation has at most {limits.group_max_members} members, you included",
                            code="group_too_large", detail={"cap": limits.group_max_members})
    return await _start_group(session, limits, me, others, body, title)


async def _start_direct(session: AsyncSession, limits: Settings, me: uuid.UUID, other: uuid.UUID,
                        body: str) -> tuple[Conversation, Message, bool]:
    await pair_lock(session, me, other)
    if not await Members(session).hold(other):
        raise NotFound(f"member {other} not found", code="member_not_found")
    block = await Graph(session).block_between(me, other)
    if block == "theirs":
        raise NotFound(f"member {other} not found", code="member_not_found")
    if block == "mine":
        raise Forbidden(f"you blocked member {other}; unblock them first to message them", code="blocked")
    await _locked_me(session, me)
    repo, at = Conversations(session), now()
    conv = await repo.open_direct(me, other)
    if conv is not None:
        await _check_send_rate(session, limits, me, at)
        await _may_send(session, Request.of(conv), me, at)
        return conv, await _append(session, conv.conversation_id, me, body, at, conv), False
    connected = await Graph(session).connected(me, other)
    await _check_new_conversation_rate(session, limits, me, at, request=not connected)
    await _check_send_rate(session, limits, me, at)
    conv = Conversation(conversation_id=uuid.uuid4(), kind="direct", title=None, created_by=me, origin="member",
                        direct_key=direct_key(me, other), request_status=None if connected else "pending",
                        request_to=None if connected else other, created_at=at, last_message_at=at, last_seq=0)
    repo.add(conv, [me, other], at)
    await session.flush()
    if not connected:
        await outbox.publish(session, events.MESSAGE_REQUEST_SENT, _request_event(conv, at), key=str(conv.conversation_id),
                             subject=str(conv.conversation_id))
    return conv, await _append(session, conv.conversation_id, me, body, at, conv), True


async def _start_group(session: AsyncSession, limits: Settings, me: uuid.UUID, others: list[uuid.UUID], body: str,
                       title: str | None) -> tuple[Conversation, Message, bool]:
    live = await Members(session).hold(*others)
    repo = Conversations(session)
    blocks = await repo.blocks_among(me, others)
    hidden = sorted({str(o) for o in others if o not in live} | {str(blocker) for blocker, _ in blocks if blocker != me})
    if hidden:
        raise NotFound(f"member {hidden[0]} not found", code="member_not_found", detail={"member_ids": hidden})
    if blocks:
        blocked = sorted(str(b) for _, b in blocks)
        raise Forbidden("you blocked some of these members; unblock them first to message them", code="blocked",
                        detail={"member_ids": blocked})
    graph = Graph(session)
    strangers = [str(o) for o in others if not await graph.connected(me, o)]
    if strangers:
        raise Conflict("a group conversation is only for your connections; message the others one to one (a message request)",
                       code="not_connected", detail={"member_ids": strangers})
    await _locked_me(session, me)
    at = now()
    await _check_new_conversation_rate(session, limits, me, at, request=False)
    await _check_send_rate(session, limits, me, at)
    conv = Conversation(conversation_id=uuid.uuid4(), kind="group", title=title, created_by=me, origin="member", direct_key=None,
                        request_status=None, request_to=None, created_at=at, last_message_at=at, last_seq=0)
    repo.add(conv, [me, *others], at)
    await session.flush()
    return conv, await _append(session, conv.conversation_id, me, body, at, conv), True


async def _may_send(session: AsyncSession, request: Request, me: uuid.UUID, at: datetime) -> None:
    """Message-request rules for a send into an existing conversation (whose row is locked)."""
    if request.status == "pending":
        if request.to == me:
            raise Conflict("accept this message request before replying", code="request_not_accepted")
        raise Conflict("your message request has not been answered yet; you can send more once it is accepted", code="request_pending")
    if request.status == "declined":
        if request.to == me:  # the member who declined starts talking after all: that is an acceptance
            await Conversations(session).set_request_status(request.conversation_id, "accepted")
            await outbox.publish(session, events.MESSAGE_REQUEST_ACCEPTED, request.event(at), key=str(request.conversation_id),
                                 subject=str(request.conversation_id))
            return
        raise Forbidden("this member declined your message request", code="request_declined")


async def send(session: AsyncSession, limits: Settings, me: uuid.UUID, conversation_id: uuid.UUID, body: str) -> Message:
    """Send into a conversation: four statements (the sender's row lock; the conversation's row lock with the
    membership and the sender's rate count; the append; the outbox rows)."""
    repo = Conversations(session)
    if not await repo.lock_member(me):
        raise NotFound(f"your member account {me} is not known to connections yet; try again in a moment", code="caller_not_registered")
    row = await repo.lock_for_send(conversation_id, me, _send_window(now()))
    if row is None or not row["is_member"] or row["left_at"] is not None or row["closed_at"] is not None or (
            row["request_status"] == "declined" and row["request_to"] == me):
        raise _not_found(conversation_id)
    at = now()  # taken under the conversation's lock: sent_at follows seq
    await _may_send(session, Request(conversation_id, row["created_by"], row["request_status"], row["request_to"]), me, at)
    await _check_send_rate(session, limits, me, at, (row["sent"], row["oldest"]))
    return await _append(session, conversation_id, me, body, at)


async def _own_message(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID,
                       action: str) -> tuple[View, Message, tuple[list[uuid.UUID], list[uuid.UUID]]]:
    view = await _view(session, me, conversation_id)
    repo = Conversations(session)
    msg = await repo.message_for_update(conversation_id, message_id)
    if msg is None or msg.seq <= view.me.joined_seq:
        raise NotFound(f"message {message_id} not found in conversation {conversation_id}", code="message_not_found")
    if msg.sender_id != me:
        raise Forbidden(f"you can {action} only your own messages", code="not_your_message")
    return view, msg, await repo.audience_and_muted(conversation_id, me)


async def edit(session: AsyncSession, limits: Settings, me: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID,
               body: str) -> Message:
    _, msg, (recipients, muted) = await _own_message(session, me, conversation_id, message_id, "edit")
    if msg.deleted_at is not None:
        raise Conflict("this message was deleted", code="message_deleted")
    at = now()
    until = msg.sent_at + timedelta(seconds=limits.message_edit_window_seconds)
    if at > until:
        raise Conflict(f"messages can be edited for {limits.message_edit_window_seconds} seconds after sending",
                       code="edit_window_closed", detail={"until": until.isoformat()})
    if body == msg.body:
        return msg
    before, links = set(msg.linked_post_ids), linked_post_ids(body)
    msg.body, msg.linked_post_ids, msg.edited_at = body, links, at
    await session.flush()
    key = str(conversation_id)
    await outbox.publish_many(session, [
        (events.MESSAGE_EDITED, events.MessageEdited(message_id=msg.message_id, conversation_id=conversation_id, sender_id=me,
                                                     recipient_ids=recipients, muted_ids=muted, edited_at=at, linked_post_ids=links),
         key, str(msg.message_id)),
        # A link added by an edit is as much a solicitation as one sent with the message.
        *[(events.MESSAGE_POST_LINKED, events.MessagePostLinked(conversation_id=conversation_id, message_id=msg.message_id, sender_id=me,
                                                                recipient_ids=recipients, post_id=p, at=at), key, str(p))
          for p in links if p not in before],
    ])
    return msg


async def delete(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """Delete your own message: its text and links are erased; the row stays as a 'deleted' placeholder. Idempotent."""
    _, msg, (recipients, muted) = await _own_message(session, me, conversation_id, message_id, "delete")
    if msg.deleted_at is not None:
        return
    at = now()
    msg.body, msg.linked_post_ids, msg.deleted_at = None, [], at
    await session.flush()
    await outbox.publish(session, events.MESSAGE_DELETED,
                         events.MessageDeleted(message_id=msg.message_id, conversation_id=conversation_id, sender_id=me,
                                               recipient_ids=recipients, muted_ids=muted, deleted_at=at),
                         key=str(conversation_id), subject=str(msg.message_id))


# -- reading -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    messages: list[Message]
    members: list[ConversationMember]


async def messages(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, limit: int, *, before: int | None,
                   after: int | None) -> Page:
    """A page of messages; fetching them is delivery: the reader's delivered marker moves to the newest one."""
    view = await _view(session, me, conversation_id)
    repo = Conversations(session)
    rows = await repo.messages(conversation_id, await repo.hidden_from(me), limit, before=before, after=after, since=view.me.joined_seq)
    if rows and rows[-1].seq > view.me.last_delivered_seq:
        await repo.advance_markers(conversation_id, me, rows[-1].seq, read=False, at=now())
    return Page(rows, await repo.current_members(conversation_id))


async def mark_read(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> ConversationMember:
    """Move your read marker to a message (never backwards); announces `message.read` when it moved."""
    view = await _view(session, me, conversation_id)
    repo = Conversations(session)
    msg = await repo.message(conversation_id, message_id)
    if msg is None or msg.seq <= view.me.joined_seq:
        raise NotFound(f"message {message_id} not found in conversation {conversation_id}", code="message_not_found")
    at = now()
    if await repo.advance_markers(conversation_id, me, msg.seq, read=True, at=at):
        others, muted = await repo.audience_and_muted(conversation_id, me)
        await outbox.publish(session, events.MESSAGE_READ,
                             events.MessageRead(conversation_id=conversation_id, member_id=me, recipient_ids=others, muted_ids=muted,
                                                last_read_message_id=message_id, read_at=at),
                             key=str(conversation_id), subject=str(me))
    mine = await repo.membership(conversation_id, me)
    assert mine is not None
    return mine


async def conversations(session: AsyncSession, me: uuid.UUID, folder: str, limit: int,
                        after: tuple[datetime, uuid.UUID] | None) -> list[dict[str, object]]:
    repo = Conversations(session)
    return [dict(r) for r in await repo.page(me, folder, await repo.hidden_from(me), limit, after)]


@dataclass(frozen=True)
class Detail:
    conversation: Conversation
    me: ConversationMember
    members: list[ConversationMember]
    handles: dict[uuid.UUID, str]
    unread_count: int


async def conversation(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID) -> Detail:
    view = await _view(session, me, conversation_id)
    repo = Conversations(session)
    members = await repo.current_members(conversation_id)
    handles = await Members(session).handles([m.member_id for m in members])
    unread = await repo.unread_count(conversation_id, me, view.me.last_read_seq, await repo.hidden_from(me))
    return Detail(view.conversation, view.me, members, handles, unread)


# -- requests, leaving, muting, reports -------------------------------------------------------------

async def answer_request(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, *, accept: bool) -> Conversation:
    view = await _view(session, me, conversation_id, lock=True)
    conv = view.conversation
    if conv.request_to is None:
        raise Conflict("this conversation is not a message request", code="not_a_request")
    if conv.request_to != me:
        raise Forbidden("only the member the request was sent to can answer it", code="not_the_recipient")
    if conv.request_status != "pending":
        raise Conflict(f"this message request is already {conv.request_status}", code="request_state", detail={"status": conv.request_status})
    at = now()
    conv.request_status = "accepted" if accept else "declined"
    await session.flush()
    await outbox.publish(session, events.MESSAGE_REQUEST_ACCEPTED if accept else events.MESSAGE_REQUEST_DECLINED,
                         _request_event(conv, at), key=str(conv.conversation_id), subject=str(conv.conversation_id))
    return conv


async def leave(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Leave a group: it disappears for you; the members still in it are told (`conversation.member_left`)."""
    view = await _view(session, me, conversation_id, lock=True)  # the row lock orders it with adds and sends
    if view.conversation.kind != "group":
        raise Conflict("you cannot leave a direct conversation; mute it, or block the member", code="not_a_group")
    repo, at = Conversations(session), now()
    await repo.set_left(conversation_id, me, at)
    remaining = await repo.audience(conversation_id, me)  # current members now, without anyone blocked either way with you
    await outbox.publish(session, events.CONVERSATION_MEMBER_LEFT,
                         events.MemberLeft(conversation_id=conversation_id, member_id=me, recipient_ids=remaining, at=at),
                         key=str(conversation_id), subject=str(conversation_id))


async def add_members(session: AsyncSession, limits: Settings, me: uuid.UUID, conversation_id: uuid.UUID,
                      member_ids: list[uuid.UUID]) -> tuple[Conversation, list[uuid.UUID]]:
    """A member of a group adds members to it, on the rules of starting a group: only your connections, nobody
    blocked either way with you, at most `group_max_members` current members. Members already in it are left as
    they are; a member who had left comes back. The added see the messages sent after they joined only.
    Returns the conversation and the members actually added (empty: nothing changed, no event)."""
    others = list(dict.fromkeys(member_ids))
    if me in others:
        raise Unprocessable("do not list yourself in member_ids: you are in this conversation already", code="self_message")
    # Lock order as in starting a group: the members' rows (KEY SHARE), then the conversation's row.
    live = await Members(session).hold(*others)
    repo = Conversations(session)
    blocks = await repo.blocks_among(me, others)
    view = await _view(session, me, conversation_id, lock=True)
    conv = view.conversation
    if conv.kind != "group":
        raise Conflict("members can be added to a group conversation only; start a group instead", code="not_a_group")
    hidden = sorted({str(o) for o in others if o not in live} | {str(blocker) for blocker, _ in blocks if blocker != me})
    if hidden:
        raise NotFound(f"member {hidden[0]} not found", code="member_not_found", detail={"member_ids": hidden})
    if blocks:
        raise Forbidden("you blocked some of these members; unblock them first to add them", code="blocked",
                        detail={"member_ids": sorted(str(b) for _, b in blocks)})
    current = {m.member_id for m in await repo.current_members(conversation_id)}
    new = [o for o in others if o not in current]
    graph = Graph(session)
    strangers = [str(o) for o in new if not await graph.connected(me, o)]
    if strangers:
        raise Conflict("you can add only your connections to a group", code="not_connected", detail={"member_ids": strangers})
    if len(current) + len(new) > limits.group_max_members:
        raise Unprocessable(f"a group conversation has at most {limits.group_max_members} members; it has {len(current)}",
                            code="group_too_large", detail={"cap": limits.group_max_members, "members": len(current)})
    if not new:
        return conv, []
    at = now()
    added = await repo.add_members(conversation_id, new, at, conv.last_seq)
    if added:
        recipients = await repo.audience(conversation_id, me)
        await outbox.publish(session, events.CONVERSATION_MEMBERS_ADDED,
                             events.MembersAdded(conversation_id=conversation_id, added_by=me, member_ids=added,
                                                 recipient_ids=recipients, at=at),
                             key=str(conversation_id), subject=str(conversation_id))
    return conv, added


async def mute(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, muted: bool) -> None:
    await _view(session, me, conversation_id)
    await Conversations(session).set_muted(conversation_id, me, muted)


async def report(session: AsyncSession, me: uuid.UUID, conversation_id: uuid.UUID, reason: str) -> bool:
    """Report a conversation to moderators. Works on any conversation you are or were in, including one a
    block or your decline has closed (report, then block, is the usual order). One report per member."""
    repo = Conversations(session)
    if await repo.get(conversation_id) is None or await repo.membership(conversation_id, me) is None:
        raise _not_found(conversation_id)
    at = now()
    if not await repo.add_report(conversation_id, me, reason, at):
        return False
    await outbox.publish(session, events.CONVERSATION_REPORTED,
                         events.ConversationReported(conversation_id=conversation_id, reporter_id=me, reason=reason, at=at),  # type: ignore[arg-type]
                         key=str(conversation_id), subject=str(conversation_id))
    return True


# -- hooks called by the connections rules, inside their transactions ----------------------------------

async def open_from_introduction(session: AsyncSession, intro: Introduction, at: datetime) -> Conversation:
    """An accepted introduction opens (or reopens, if a request was pending) the direct conversation of the two
    members introduced. Its first message is the introducer's note, from the introducer; without a note, the
    requester's own message from the introduction request. The caller holds the pair's lock."""
    repo = Conversations(session)
    conv = await repo.open_direct(intro.requester_id, intro.target_id)
    if conv is None:
        conv = Conversation(conversation_id=uuid.uuid4(), kind="direct", title=None, created_by=intro.requester_id, origin="introduction",
                            direct_key=direct_key(intro.requester_id, intro.target_id), request_status=None, request_to=None,
                            created_at=at, last_message_at=at, last_seq=0)
        repo.add(conv, [intro.requester_id, intro.target_id], at)
        await session.flush()
    elif conv.request_status in ("pending", "declined"):
        conv.request_status = "accepted"  # they are connected now: the request no longer stands between them
        await session.flush()
        await outbox.publish(session, events.MESSAGE_REQUEST_ACCEPTED, _request_event(conv, at), key=str(conv.conversation_id),
                             subject=str(conv.conversation_id))
    if intro.forward_note:
        await _append(session, conv.conversation_id, intro.introducer_id, intro.forward_note, at, conv)
    else:
        await _append(session, conv.conversation_id, intro.requester_id, intro.message, at, conv)
    return conv


async def close_between(session: AsyncSession, a: uuid.UUID, b: uuid.UUID, at: datetime) -> None:
    """A block: the pair's direct conversation is closed for both, silently (an event would tell the blocked member)."""
    await Conversations(session).close_direct(a, b, at)


async def forget_member(session: AsyncSession, member_id: uuid.UUID, at: datetime) -> None:
    await Conversations(session).forget(member_id, at)
