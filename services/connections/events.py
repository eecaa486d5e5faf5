"""What connections publishes: the graph on agora.connections (key = the acting member's id), conversations on
agora.conversations (key = the conversation id).

Field names are a contract: profiles, content and voting read `connection.made` / `connection.removed`
by these exact names. Invitation and introduction events carry only ids (never the note or message
text), enough for the gateway to notify the people involved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.catalog import CONNECTIONS, CONVERSATIONS
from services.kit.events import EventType

Provenance = Literal["invitation", "introduction", "suggestion", "import"]


class MemberFollowed(BaseModel):
    follower_id: uuid.UUID
    followee_id: uuid.UUID
    followed_at: datetime


class MemberUnfollowed(BaseModel):
    follower_id: uuid.UUID
    followee_id: uuid.UUID
    unfollowed_at: datetime


class MemberBlocked(BaseModel):
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID
    blocked_at: datetime


class MemberUnblocked(BaseModel):
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID
    unblocked_at: datetime


class InvitationChanged(BaseModel):
    invitation_id: uuid.UUID
    from_id: uuid.UUID
    to_id: uuid.UUID
    at: datetime
    note_present: bool


class ConnectionMade(BaseModel):
    a_id: uuid.UUID  # who initiated (inviter, requester of an introduction)
    b_id: uuid.UUID
    provenance: Provenance
    made_at: datetime


class ConnectionRemoved(BaseModel):
    a_id: uuid.UUID  # who removed it (or whose account was deleted)
    b_id: uuid.UUID
    removed_at: datetime


class IntroductionChanged(BaseModel):
    introduction_id: uuid.UUID
    requester_id: uuid.UUID
    introducer_id: uuid.UUID
    target_id: uuid.UUID
    at: datetime


FOLLOWED = EventType("member.followed", CONNECTIONS, MemberFollowed, "A member started following another (one-way).")
UNFOLLOWED = EventType("member.unfollowed", CONNECTIONS, MemberUnfollowed, "A member stopped following another (also when a block removed the follow).")
BLOCKED = EventType("member.blocked", CONNECTIONS, MemberBlocked, "A member blocked another: connection, invitations and follows between them are gone.")
UNBLOCKED = EventType("member.unblocked", CONNECTIONS, MemberUnblocked, "A member lifted a block.")

INVITATION_SENT = EventType("invitation.sent", CONNECTIONS, InvitationChanged, "A member invited another to connect.")
INVITATION_ACCEPTED = EventType("invitation.accepted", CONNECTIONS, InvitationChanged, "The invitee accepted (a connection.made follows in the same transaction).")
INVITATION_DECLINED = EventType("invitation.declined", CONNECTIONS, InvitationChanged, "The invitee declined.")
INVITATION_WITHDRAWN = EventType("invitation.withdrawn", CONNECTIONS, InvitationChanged, "The inviter withdrew a pending invitation.")
INVITATION_EXPIRED = EventType("invitation.expired", CONNECTIONS, InvitationChanged, "A pending invitation was left unanswered until it expired.")

CONNECTION_MADE = EventType("connection.made", CONNECTIONS, ConnectionMade, "Two members are now connected (mutual, undirected), with the edge's provenance.")
CONNECTION_REMOVED = EventType("connection.removed", CONNECTIONS, ConnectionRemoved, "A connection was removed (by a member, a block or an account deletion).")

INTRODUCTION_REQUESTED = EventType("introduction.requested", CONNECTIONS, IntroductionChanged, "A member asked a mutual connection for an introduction.")
INTRODUCTION_FORWARDED = EventType("introduction.forwarded", CONNECTIONS, IntroductionChanged, "The introducer passed the request on to the target.")
INTRODUCTION_ACCEPTED = EventType("introduction.accepted", CONNECTIONS, IntroductionChanged, "The target accepted (a connection.made with provenance introduction follows).")
INTRODUCTION_DECLINED = EventType("introduction.declined", CONNECTIONS, IntroductionChanged, "The introducer or the target declined.")

# -- conversations (topic agora.conversations, key = conversation id) ------------------------------------
# Metadata only: ids, times and the ids of Agora posts linked in a message; never the text of a message.
# `recipient_ids` are the conversation's other current members, so the gateway can stream each event to
# exactly the members involved. `muted_ids` (⊆ recipient_ids) are the recipients who muted the conversation:
# the gateway leaves them out of the live `me` stream and never streams the field itself (mute is private).

MUTED = "The recipients who muted the conversation (a subset of recipient_ids): the gateway does not stream the event to them, and never streams this field"

class MessageSent(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_ids: list[uuid.UUID]
    muted_ids: list[uuid.UUID] = Field(default_factory=list, description=MUTED)
    sent_at: datetime
    linked_post_ids: list[uuid.UUID]


class MessageEdited(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_ids: list[uuid.UUID]
    muted_ids: list[uuid.UUID] = Field(default_factory=list, description=MUTED)
    edited_at: datetime
    linked_post_ids: list[uuid.UUID]


class MessageDeleted(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_ids: list[uuid.UUID]
    muted_ids: list[uuid.UUID] = Field(default_factory=list, description=MUTED)
    deleted_at: datetime


class MessageRead(BaseModel):
    conversation_id: uuid.UUID
    member_id: uuid.UUID
    recipient_ids: list[uuid.UUID]  # the other members, who see the read marker
    muted_ids: list[uuid.UUID] = Field(default_factory=list, description=MUTED)
    last_read_message_id: uuid.UUID
    read_at: datetime


class MembersAdded(BaseModel):
    conversation_id: uuid.UUID
    added_by: uuid.UUID
    member_ids: list[uuid.UUID]  # the members added
    recipient_ids: list[uuid.UUID]  # every current member but the one who added them (the new ones included)
    at: datetime


class MemberLeft(BaseModel):
    conversation_id: uuid.UUID
    member_id: uuid.UUID
    recipient_ids: list[uuid.UUID]  # the members still in it
    at: datetime


class MessageRequestChanged(BaseModel):
    conversation_id: uuid.UUID
    requester_id: uuid.UUID
    recipient_id: uuid.UUID
    at: datetime


class ConversationReported(BaseModel):
    conversation_id: uuid.UUID
    reporter_id: uuid.UUID
    reason: Literal["spam", "harassment", "solicitation", "scam", "other"]
    at: datetime


class MessagePostLinked(BaseModel):
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_ids: list[uuid.UUID]
    post_id: uuid.UUID
    at: datetime


MESSAGE_SENT = EventType("message.sent", CONVERSATIONS, MessageSent, "A message was sent in a conversation (metadata only, never the text).")
MESSAGE_EDITED = EventType("message.edited", CONVERSATIONS, MessageEdited, "The sender edited a message within the edit window.")
MESSAGE_DELETED = EventType("message.deleted", CONVERSATIONS, MessageDeleted, "The sender deleted a message.")
MESSAGE_READ = EventType("message.read", CONVERSATIONS, MessageRead, "A member's read marker moved forward in a conversation.")
CONVERSATION_MEMBERS_ADDED = EventType("conversation.members_added", CONVERSATIONS, MembersAdded,
                                       "A member of a group added members to it (ids only).")
CONVERSATION_MEMBER_LEFT = EventType("conversation.member_left", CONVERSATIONS, MemberLeft, "A member left a group conversation.")
MESSAGE_REQUEST_SENT = EventType("message_request.sent", CONVERSATIONS, MessageRequestChanged, "A member messaged a non-connection: a message request.")
MESSAGE_REQUEST_ACCEPTED = EventType("message_request.accepted", CONVERSATIONS, MessageRequestChanged, "The recipient accepted a message request.")
MESSAGE_REQUEST_DECLINED = EventType("message_request.declined", CONVERSATIONS, MessageRequestChanged, "The recipient declined a message request.")
CONVERSATION_REPORTED = EventType("conversation.reported", CONVERSATIONS, ConversationReported, "A member reported a conversation (for moderators).")
MESSAGE_POST_LINKED = EventType("message.post_linked", CONVERSATIONS, MessagePostLinked,
                                "A message linked to an Agora post: one event per post (voting's solicitation signal).")

PUBLISHED = [
    FOLLOWED, UNFOLLOWED, BLOCKED, UNBLOCKED,
    INVITATION_SENT, INVITATION_ACCEPTED, INVITATION_DECLINED, INVITATION_WITHDRAWN, INVITATION_EXPIRED,
    CONNECTION_MADE, CONNECTION_REMOVED,
    INTRODUCTION_REQUESTED, INTRODUCTION_FORWARDED, INTRODUCTION_ACCEPTED, INTRODUCTION_DECLINED,
    MESSAGE_SENT, MESSAGE_EDITED, MESSAGE_DELETED, MESSAGE_READ, CONVERSATION_MEMBERS_ADDED, CONVERSATION_MEMBER_LEFT,
    MESSAGE_REQUEST_SENT, MESSAGE_REQUEST_ACCEPTED, MESSAGE_REQUEST_DECLINED, CONVERSATION_REPORTED, MESSAGE_POST_LINKED,
]
