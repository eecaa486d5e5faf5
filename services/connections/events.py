"""What connections publishes (topic agora.connections, key = the acting member's id).

Field names are a contract: profiles, content and voting read `connection.made` / `connection.removed`
by these exact names. Invitation and introduction events carry only ids (never the note or message
text), enough for the gateway to notify the people involved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from services.catalog import CONNECTIONS
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

PUBLISHED = [
    FOLLOWED, UNFOLLOWED, BLOCKED, UNBLOCKED,
    INVITATION_SENT, INVITATION_ACCEPTED, INVITATION_DECLINED, INVITATION_WITHDRAWN, INVITATION_EXPIRED,
    CONNECTION_MADE, CONNECTION_REMOVED,
    INTRODUCTION_REQUESTED, INTRODUCTION_FORWARDED, INTRODUCTION_ACCEPTED, INTRODUCTION_DECLINED,
]
