"""Conversations' HTTP routes under /v1/conversations (thin: parse, call the rules, shape the answer)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.connections import cursor
from services.connections.config import Settings
from services.connections.conversations import service
from services.connections.conversations.repository import Conversations
from services.connections.repository import Members
from services.connections.conversations.schemas import (
    ConversationCreate, ConversationDetail, ConversationPage, ConversationRead, ConversationStarted, MembersAdd, MembersAdded, MemberState,
    MessageCreate,
    MessagePage, MessageRead, MessageUpdate, ReadMarkerCreate, ReportCreate, decode_cursor, encode_cursor,
)
from services.connections.models import Conversation, ConversationMember, Message
from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


limits = Depends(_settings)
Cursor = Query(None, alias="cursor", max_length=200, description="A cursor from the previous page")


def _message(msg: Message, members: list[ConversationMember]) -> MessageRead:
    others = [m for m in members if m.member_id != msg.sender_id and m.joined_seq < msg.seq]  # not those added after it
    return MessageRead(
        message_id=msg.message_id, conversation_id=msg.conversation_id, seq=msg.seq, sender_id=msg.sender_id, body=msg.body,
        linked_post_ids=list(msg.linked_post_ids), sent_at=msg.sent_at, edited_at=msg.edited_at, deleted_at=msg.deleted_at,
        delivered_to=[m.member_id for m in others if m.last_delivered_seq >= msg.seq],
        read_by=[m.member_id for m in others if m.last_read_seq >= msg.seq],
    )


def _conversation(conv: Conversation, me: ConversationMember, members: list[ConversationMember], unread: int) -> dict[str, Any]:
    return dict(
        conversation_id=conv.conversation_id, kind=conv.kind, title=conv.title, origin=conv.origin, created_by=conv.created_by,
        member_ids=[m.member_id for m in members], request_status=conv.request_status, request_to=conv.request_to,
        created_at=conv.created_at, last_message_at=conv.last_message_at, last_seq=conv.last_seq, unread_count=unread, muted=me.muted,
    )


@router.post("", response_model=ConversationStarted, status_code=201,
             responses={200: {"model": ConversationStarted, "description": "The open direct conversation with this member, "
                              "with your message added"}, **error_responses(400, 401, 403, 404, 409, 422, 429)})
async def start(body: ConversationCreate, response: Response, me: Principal = current_member, db: AsyncSession = session,
                settings: Settings = limits) -> ConversationStarted:
    """Start a conversation with a first message. One member: a direct conversation — with a connection it is open
    at once; with anyone else it is a **message request** they accept or decline. Several members (all your
    connections, at most 19 others): a group. Limits: conversations started per hour, requests per day, messages
    per minute (429 with Retry-After)."""
    conv, msg, created = await service.start(db, settings, me.member_id, body.member_ids, body.body, body.title)
    response.status_code = 201 if created else 200
    members = await Conversations(db).current_members(conv.conversation_id)
    mine = next(m for m in members if m.member_id == me.member_id)
    return ConversationStarted(conversation=ConversationRead(**_conversation(conv, mine, members, 0)), message=_message(msg, members))


@router.get("", response_model=ConversationPage, responses=error_responses(401, 422))
async def list_conversations(folder: Literal["inbox", "requests"] = Query("inbox", description="inbox, or message requests waiting "
                                                                                                "for your answer"),
                             limit: int = Query(20, ge=1, le=100), cursor_: str | None = Cursor,
                             me: Principal = current_member, db: AsyncSession = session) -> ConversationPage:
    """Your conversations, most recent activity first, each with your unread count."""
    rows = await service.conversations(db, me.member_id, folder, limit, cursor.decode(cursor_))
    nxt = cursor.encode(rows[-1]["last_message_at"], rows[-1]["conversation_id"]) if len(rows) == limit else None  # type: ignore[arg-type]
    return ConversationPage(items=[ConversationRead.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/{conversation_id}", response_model=ConversationDetail, responses=error_responses(401, 404, 422))
async def get_conversation(conversation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> ConversationDetail:
    """One conversation with each member's delivered and read markers."""
    d = await service.conversation(db, me.member_id, conversation_id)
    states = [MemberState(member_id=m.member_id, handle=d.handles.get(m.member_id, ""), joined_at=m.joined_at,
                          last_delivered_seq=m.last_delivered_seq, last_read_seq=m.last_read_seq, last_read_at=m.last_read_at)
              for m in d.members]
    return ConversationDetail(**_conversation(d.conversation, d.me, d.members, d.unread_count), members=states)


@router.get("/{conversation_id}/messages", response_model=MessagePage, responses=error_responses(401, 404, 422))
async def list_messages(conversation_id: uuid.UUID, limit: int = Query(50, ge=1, le=200), cursor_: str | None = Cursor,
                        me: Principal = current_member, db: AsyncSession = session) -> MessagePage:
    """Messages oldest first: without a cursor the newest page; `older_cursor` pages back, `newer_cursor` forward.
    Reading a page marks its messages delivered to you (not read: see `/read`)."""
    before, after = decode_cursor(cursor_)
    page = await service.messages(db, me.member_id, conversation_id, limit, before=before, after=after)
    items = [_message(m, page.members) for m in page.messages]
    if after is not None:
        older = encode_cursor("before", items[0].seq if items else after + 1)
    else:
        older = encode_cursor("before", items[0].seq) if len(items) == limit else None
    newer = encode_cursor("after", items[-1].seq if items else (after if after is not None else (before or 1) - 1))
    return MessagePage(items=items, older_cursor=older, newer_cursor=newer)


@router.post("/{conversation_id}/messages", response_model=MessageRead, status_code=201,
             responses=error_responses(400, 401, 403, 404, 409, 422, 429))
async def send(conversation_id: uuid.UUID, body: MessageCreate, me: Principal = current_member, db: AsyncSession = session,
               settings: Settings = limits) -> MessageRead:
    """Send a message. 409 `request_pending` while your message request is unanswered, `request_not_accepted` on a
    request to you you have not accepted; 403 `request_declined`; 429 over the per-minute send limit."""
    msg = await service.send(db, settings, me.member_id, conversation_id, body.body)
    return _message(msg, [])  # a message just sent has reached no one else's markers yet


@router.patch("/{conversation_id}/messages/{message_id}", response_model=MessageRead, responses=error_responses(400, 401, 403, 404, 409, 422))
async def edit(conversation_id: uuid.UUID, message_id: uuid.UUID, body: MessageUpdate, me: Principal = current_member,
               db: AsyncSession = session, settings: Settings = limits) -> MessageRead:
    """Edit your own message within the edit window (409 `edit_window_closed` after it)."""
    msg = await service.edit(db, settings, me.member_id, conversation_id, message_id, body.body)
    return _message(msg, await Conversations(db).current_members(conversation_id))


@router.delete("/{conversation_id}/messages/{message_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete(conversation_id: uuid.UUID, message_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Delete your own message (its text is erased for everyone). Idempotent."""
    await service.delete(db, me.member_id, conversation_id, message_id)
    return Response(status_code=204)


@router.post("/{conversation_id}/read", response_model=MemberState, responses=error_responses(400, 401, 404, 422))
async def mark_read(conversation_id: uuid.UUID, body: ReadMarkerCreate, me: Principal = current_member,
                    db: AsyncSession = session) -> MemberState:
    """Move your read marker to a message; it never moves backwards."""
    m = await service.mark_read(db, me.member_id, conversation_id, body.message_id)
    handle = (await Members(db).handles([me.member_id])).get(me.member_id, "")
    return MemberState(member_id=m.member_id, handle=handle, joined_at=m.joined_at, last_delivered_seq=m.last_delivered_seq,
                       last_read_seq=m.last_read_seq, last_read_at=m.last_read_at)


@router.post("/{conversation_id}/accept", response_model=ConversationDetail, responses=error_responses(401, 403, 404, 409, 422))
async def accept_request(conversation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> ConversationDetail:
    """Accept a message request sent to you: the conversation moves to your inbox and both may write."""
    await service.answer_request(db, me.member_id, conversation_id, accept=True)
    return await get_conversation(conversation_id, me, db)


@router.post("/{conversation_id}/decline", status_code=204, responses=error_responses(401, 403, 404, 409, 422))
async def decline_request(conversation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Decline a message request sent to you: it disappears for you and the sender can write no more."""
    await service.answer_request(db, me.member_id, conversation_id, accept=False)
    return Response(status_code=204)


@router.post("/{conversation_id}/leave", status_code=204, responses=error_responses(401, 404, 409, 422))
async def leave(conversation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Leave a group conversation; it disappears for you."""
    await service.leave(db, me.member_id, conversation_id)
    return Response(status_code=204)


@router.post("/{conversation_id}/members", response_model=MembersAdded, responses=error_responses(400, 401, 403, 404, 409, 422))
async def add_members(conversation_id: uuid.UUID, body: MembersAdd, me: Principal = current_member, db: AsyncSession = session,
                      settings: Settings = limits) -> MembersAdded:
    """Add your connections to a group you are in (up to the group size limit). They see the messages sent from now on;
    the members are told (`conversation.members_added`). Members already in it are left as they are."""
    _, added = await service.add_members(db, settings, me.member_id, conversation_id, body.member_ids)
    members = await Conversations(db).current_members(conversation_id)
    return MembersAdded(added=added, member_ids=[m.member_id for m in members])


@router.put("/{conversation_id}/mute", status_code=204, responses=error_responses(401, 404, 422))
async def mute(conversation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Mute a conversation (no notifications; unread counts still count). Idempotent."""
    await service.mute(db, me.member_id, conversation_id, True)
    return Response(status_code=204)


@router.delete("/{conversation_id}/mute", status_code=204, responses=error_responses(401, 404, 422))
async def unmute(conversation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    await service.mute(db, me.member_id, conversation_id, False)
    return Response(status_code=204)


@router.post("/{conversation_id}/report", status_code=202, responses={200: {"description": "You had already reported it"},
                                                                        **error_responses(400, 401, 404, 422)})
async def report(conversation_id: uuid.UUID, body: ReportCreate, response: Response, me: Principal = current_member,
                 db: AsyncSession = session) -> dict[str, str]:
    """Report a conversation to moderators (also one a block has closed). One report per member and conversation."""
    created = await service.report(db, me.member_id, conversation_id, body.reason)
    response.status_code = 202 if created else 200
    return {"status": "reported"}
