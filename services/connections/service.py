"""Connections' rules: invitations, connections, follows, blocks, degrees, introductions, suggestions.

Every change and the event announcing it are written in the caller's transaction (outbox); the route's
session commits both or neither. Concurrency rules, locks always taken in this order (no deadlocks):
  1. the pair's advisory lock: anything that changes the relation between two members takes it, so two
     members cannot invite each other at the same moment, nor block while an invitation is accepted;
  2. the invitation or introduction row being acted on (`SELECT … FOR UPDATE`), so two concurrent
     actions on it (accept + withdraw) take turns and the second sees the first's outcome;
  3. member rows: the acting member's `FOR NO KEY UPDATE`, so their caps are counted without races (it
     does not block others' foreign-key checks); any other member something will point at `FOR KEY
     SHARE`, re-checked as not deleted, so an account deletion (which takes the row `FOR UPDATE`) either
     waits for the request and sweeps up its result, or makes it see the member gone.
Errors are `kit.errors`; a member who blocked the caller is reported as not found (blocks hide).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.connections import events
from services.connections.config import Settings
from services.connections.conversations import service as conversations
from services.connections.degrees import Separation, separation
from services.connections.models import Follow, Introduction, Invitation, Member, outbox as outbox_rows
from services.connections.repository import Graph, Introductions, Invitations, Members, pair_lock
from services.kit.errors import Conflict, Forbidden, Gone, NotFound, TooManyRequests, Unprocessable
from services.kit.outbox import Outbox

outbox = Outbox(outbox_rows, source="agora/connections")


def now() -> datetime:
    return datetime.now(UTC)


def _not_found(member_id: uuid.UUID) -> NotFound:
    return NotFound(f"member {member_id} not found", code="member_not_found")


async def _locked_me(members: Members, me: uuid.UUID) -> Member:
    """The acting member, row-locked: their caps are counted under this lock."""
    row = await members.lock(me)
    if row is None:
        raise NotFound(f"your member account {me} is not known to connections yet; try again in a moment", code="caller_not_registered")
    return row


async def _visible_other(session: AsyncSession, me: uuid.UUID, other: uuid.UUID, *, what: str) -> None:
    """Go on only if the other member exists (their row held until commit, see Members.hold) and has not
    blocked me; I may not act on someone I blocked."""
    if me == other:
        raise Unprocessable(f"you cannot {what} yourself", code=f"self_{what.split()[0]}")
    if not await Members(session).hold(other):
        raise _not_found(other)
    block = await Graph(session).block_between(me, other)
    if block == "theirs":
        raise _not_found(other)
    if block == "mine":
        raise Forbidden(f"you blocked member {other}; unblock them first to {what} them", code="blocked")


# -- follows -----------------------------------------------------------------------------------------

async def follow(session: AsyncSession, follower: uuid.UUID, followee: uuid.UUID) -> tuple[Follow, bool]:
    """Follow a member; returns the follow and whether it is new. Following twice changes nothing."""
    await pair_lock(session, follower, followee)
    await _visible_other(session, follower, followee, what="follow")
    graph = Graph(session)
    created = await graph.add_follow(follower, followee)
    if created is None:
        existing = await graph.get_follow(follower, followee)
        assert existing is not None
        return existing, False
    await outbox.publish(
        session, events.FOLLOWED,
        events.MemberFollowed(follower_id=follower, followee_id=followee, followed_at=created.created_at),
        key=str(follower), subject=str(followee),
    )
    return created, True


async def unfollow(session: AsyncSession, follower: uuid.UUID, followee: uuid.UUID) -> bool:
    """Stop following; idempotent. Returns whether a follow was removed."""
    if follower == followee:
        raise Unprocessable("you cannot unfollow yourself", code="self_unfollow")
    removed = await Graph(session).remove_follows([(follower, followee)])
    await _publish_unfollows(session, removed, key=follower)
    return bool(removed)


async def _publish_unfollows(session: AsyncSession, pairs: list[tuple[uuid.UUID, uuid.UUID]], *, key: uuid.UUID) -> None:
    at = now()
    await outbox.publish_many(session, [
        (events.UNFOLLOWED, events.MemberUnfollowed(follower_id=f, followee_id=e, unfollowed_at=at), str(key), str(e)) for f, e in pairs
    ])


# -- blocks ------------------------------------------------------------------------------------------

async def block(session: AsyncSession, blocker: uuid.UUID, blocked: uuid.UUID) -> tuple[datetime, bool]:
    """Block a member: removes the connection, pending invitations and follows both ways. Idempotent."""
    if blocker == blocked:
        raise Unprocessable("you cannot block yourself", code="self_block")
    if not await Members(session).exists(blocked):
        raise _not_found(blocked)
    graph = Graph(session)
    await pair_lock(session, blocker, blocked)
    row = await graph.add_block(blocker, blocked)
    if row is None:
        existing = await graph.get_block(blocker, blocked)
        assert existing is not None
        return existing.created_at, False
    at = row.created_at
    if await graph.disconnect(blocker, blocked):
        await outbox.publish(session, events.CONNECTION_REMOVED, events.ConnectionRemoved(a_id=blocker, b_id=blocked, removed_at=at),
                             key=str(blocker), subject=str(blocked))
    # Pending invitations and open introductions between them end silently: an event would tell the blocked member.
    await Invitations(session).cancel_between(blocker, blocked, at)
    await Introductions(session).close_between(blocker, blocked, at)
    await conversations.close_between(session, blocker, blocked, at)
    removed = await graph.remove_follows([(blocker, blocked), (blocked, blocker)])
    await _publish_unfollows(session, removed, key=blocker)
    await outbox.publish(session, events.BLOCKED, events.MemberBlocked(blocker_id=blocker, blocked_id=blocked, blocked_at=at),
                         key=str(blocker), subject=str(blocked))
    return at, True


async def unblock(session: AsyncSession, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
    if blocker == blocked:
        raise Unprocessable("you cannot unblock yourself", code="self_unblock")
    if not await Graph(session).remove_block(blocker, blocked):
        return False
    await outbox.publish(session, events.UNBLOCKED, events.MemberUnblocked(blocker_id=blocker, blocked_id=blocked, unblocked_at=now()),
                         key=str(blocker), subject=str(blocked))
    return True


# -- connections -------------------------------------------------------------------------------------

async def _connect(session: AsyncSession, a: uuid.UUID, b: uuid.UUID, provenance: events.Provenance, at: datetime) -> bool:
    if len(await Members(session).hold(a, b)) < 2:
        raise Conflict("one of the two members has deleted their account", code="member_gone")
    if not await Graph(session).connect(a, b, provenance, at):
        return False
    await outbox.publish(session, events.CONNECTION_MADE, events.ConnectionMade(a_id=a, b_id=b, provenance=provenance, made_at=at),
                         key=str(b), subject=str(a))
    return True


async def remove_connection(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> None:
    if me == other:
        raise Unprocessable("you are not connected to yourself", code="self_connection")
    await pair_lock(session, me, other)
    if not await Graph(session).disconnect(me, other):
        raise NotFound(f"you are not connected to member {other}", code="not_connected")
    await outbox.publish(session, events.CONNECTION_REMOVED, events.ConnectionRemoved(a_id=me, b_id=other, removed_at=now()),
                         key=str(me), subject=str(other))


async def connections(session: AsyncSession, me: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Any]:
    return await Graph(session).page(me, limit, after)


async def connection_count(session: AsyncSession, me: uuid.UUID, whose: uuid.UUID) -> int:
    if whose != me and (not await Members(session).exists(whose) or await Graph(session).block_between(me, whose)):
        raise _not_found(whose)
    return await Graph(session).count(whose)


# -- invitations -------------------------------------------------------------------------------------

def _invitation_event(inv: Invitation, at: datetime) -> events.InvitationChanged:
    return events.InvitationChanged(invitation_id=inv.invitation_id, from_id=inv.from_id, to_id=inv.to_id, at=at, note_present=bool(inv.note))


async def send_invitation(session: AsyncSession, limits: Settings, sender: uuid.UUID, to_id: uuid.UUID, note: str | None,
                          *, via_suggestion: bool = False) -> tuple[Invitation, bool]:
    """Invite a member to connect; returns the invitation and whether it is new (a repeat returns the pending one)."""
    # Lock order everywhere: the pair, then invitation rows, then member rows.
    await pair_lock(session, sender, to_id)
    await _visible_other(session, sender, to_id, what="invite")
    invitations = Invitations(session)
    if await Graph(session).connected(sender, to_id):
        raise Conflict(f"you are already connected to member {to_id}", code="already_connected")
    at = now()
    existing = await _unexpired(session, limits, await invitations.pending(sender, to_id), at)
    if existing is not None:
        return existing, False
    reverse = await _unexpired(session, limits, await invitations.pending(to_id, sender), at)
    if reverse is not None:
        raise Conflict(f"member {to_id} has already invited you: accept invitation {reverse.invitation_id} instead",
                       code="invited_by_them", detail={"invitation_id": str(reverse.invitation_id)})
    me = await _locked_me(Members(session), sender)
    if me.invitations_restricted_until and me.invitations_restricted_until > at:
        raise Forbidden("too many of your recent invitations were declined or ignored; you may send invitations again after "
                        f"{me.invitations_restricted_until.isoformat()}", code="invitations_restricted",
                        detail={"until": me.invitations_restricted_until.isoformat()})
    if await invitations.pending_count(sender) >= limits.invitation_pending_cap:
        raise Conflict(f"you have {limits.invitation_pending_cap} pending invitations, the most allowed; withdraw some or wait for answers",
                       code="pending_invitations_cap", detail={"cap": limits.invitation_pending_cap})
    week_ago = at - timedelta(days=7)
    sent, oldest = await invitations.sent_since(sender, week_ago)
    if sent >= limits.invitation_weekly_cap:
        retry = ((oldest or at) - week_ago).total_seconds()
        raise TooManyRequests(f"you sent {sent} invitations in the last 7 days, the most allowed", retry_after=retry,
                              detail={"cap": limits.invitation_weekly_cap})
    inv = Invitation(invitation_id=uuid.uuid4(), from_id=sender, to_id=to_id, note=note or None, status="pending",
                     created_at=at, expires_at=at + timedelta(days=limits.invitation_ttl_days), via_suggestion=via_suggestion)
    invitations.add(inv)
    await session.flush()
    await outbox.publish(session, events.INVITATION_SENT, _invitation_event(inv, at), key=str(sender), subject=str(inv.invitation_id))
    return inv, True


async def _unexpired(session: AsyncSession, limits: Settings, inv: Invitation | None, at: datetime) -> Invitation | None:
    """A pending invitation, or None when there is none or it is overdue (then it is expired now, not at the next sweep)."""
    if inv is None or inv.expires_at > at:
        return inv
    locked = await Invitations(session).get_for_update(inv.invitation_id)
    if locked is not None and locked.status == "pending":  # the expiry worker may have just done it
        locked.status, locked.resolved_at = "expired", at
        await session.flush()
        await outbox.publish(session, events.INVITATION_EXPIRED, _invitation_event(locked, at), key=str(locked.from_id),
                             subject=str(locked.invitation_id))
        await _review_sender(session, limits, locked.from_id, at)
    return None


async def invitations(session: AsyncSession, me: uuid.UUID, direction: str, status: str | None, limit: int,
                      after: tuple[datetime, uuid.UUID] | None) -> list[Invitation]:
    return await Invitations(session).page(me, direction, status, limit, after)


async def _invitation_for(session: AsyncSession, me: uuid.UUID, invitation_id: uuid.UUID, *, role: str, action: str) -> Invitation:
    """The invitation, locked for this transaction: the pair's lock first (the order every writer takes), then the row."""
    invitations = Invitations(session)
    seen = await invitations.get(invitation_id)
    if seen is None or me not in (seen.from_id, seen.to_id):
        raise NotFound(f"invitation {invitation_id} not found", code="invitation_not_found")
    await pair_lock(session, seen.from_id, seen.to_id)
    inv = await invitations.get_for_update(invitation_id)
    assert inv is not None  # invitations are never deleted
    if (inv.to_id if role == "invitee" else inv.from_id) != me:
        raise Forbidden(f"only the {role} can {action} this invitation", code="not_your_invitation")
    if inv.status != "pending":
        raise Conflict(f"invitation {invitation_id} is {inv.status}, not pending", code="invitation_not_pending", detail={"status": inv.status})
    if inv.expires_at <= now():
        raise Gone(f"invitation {invitation_id} expired at {inv.expires_at.isoformat()}", code="invitation_expired")
    return inv


async def accept_invitation(session: AsyncSession, me: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    inv = await _invitation_for(session, me, invitation_id, role="invitee", action="accept")
    at = now()
    inv.status, inv.resolved_at = "accepted", at
    await session.flush()
    await outbox.publish(session, events.INVITATION_ACCEPTED, _invitation_event(inv, at), key=str(me), subject=str(inv.invitation_id))
    await _connect(session, inv.from_id, inv.to_id, "suggestion" if inv.via_suggestion else "invitation", at)
    return inv


async def decline_invitation(session: AsyncSession, limits: Settings, me: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    inv = await _invitation_for(session, me, invitation_id, role="invitee", action="decline")
    at = now()
    inv.status, inv.resolved_at = "declined", at
    await session.flush()
    await outbox.publish(session, events.INVITATION_DECLINED, _invitation_event(inv, at), key=str(me), subject=str(inv.invitation_id))
    await _review_sender(session, limits, inv.from_id, at)
    return inv


async def withdraw_invitation(session: AsyncSession, me: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    inv = await _invitation_for(session, me, invitation_id, role="inviter", action="withdraw")
    at = now()
    inv.status, inv.resolved_at = "withdrawn", at
    await session.flush()
    await outbox.publish(session, events.INVITATION_WITHDRAWN, _invitation_event(inv, at), key=str(me), subject=str(inv.invitation_id))
    return inv


async def _review_sender(session: AsyncSession, limits: Settings, sender: uuid.UUID, at: datetime) -> None:
    """Restrict a member whose recent invitations are mostly declined or ignored."""
    bad, resolved = await Invitations(session).outcomes_since(sender, at - timedelta(days=limits.restriction_window_days))
    if resolved >= limits.restriction_min_resolved and bad / resolved >= limits.restriction_decline_ratio:
        await Members(session).restrict_invitations(sender, at + timedelta(days=limits.restriction_days))


async def expire_invitations(session: AsyncSession, limits: Settings, *, batch: int = 500) -> int:
    """Expire overdue pending invitations (one batch); the expiry worker calls this in a loop."""
    at = now()
    expired = await Invitations(session).expire_due(at, batch)
    await outbox.publish_many(session, [
        (events.INVITATION_EXPIRED, _invitation_event(inv, at), str(inv.from_id), str(inv.invitation_id)) for inv in expired
    ])
    for sender in sorted({inv.from_id for inv in expired}):
        await _review_sender(session, limits, sender, at)
    return len(expired)


# -- degrees -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Degrees:
    separation: Separation
    handles: dict[uuid.UUID, str]
    mutuals_shown: list[uuid.UUID]


async def degrees(session: AsyncSession, me: uuid.UUID, other: uuid.UUID, *, mutuals_limit: int = 20) -> Degrees:
    graph = Graph(session)
    live, hidden = await graph.viewable(me, other)
    if other in hidden or (other != me and not live):
        raise _not_found(other)
    sep = await separation(graph, me, other, hidden=hidden)
    shown = set(sep.path or ()) | sep.mutuals
    handles = await Members(session).handles(sorted(shown)) if shown else {}
    shown = sorted(sep.mutuals, key=lambda m: (handles.get(m, ""), m))[:mutuals_limit]
    return Degrees(sep, handles, shown)


# -- introductions -----------------------------------------------------------------------------------

def _introduction_event(intro: Introduction, at: datetime) -> events.IntroductionChanged:
    return events.IntroductionChanged(introduction_id=intro.introduction_id, requester_id=intro.requester_id,
                                      introducer_id=intro.introducer_id, target_id=intro.target_id, at=at)


async def request_introduction(session: AsyncSession, limits: Settings, me: uuid.UUID, introducer: uuid.UUID, target: uuid.UUID,
                               message: str) -> Introduction:
    if introducer == target:
        raise Unprocessable("the introducer and the target must be different members", code="introducer_is_target")
    members = Members(session)
    await _locked_me(members, me)
    await _visible_other(session, me, introducer, what="ask")
    await _visible_other(session, me, target, what="meet")
    graph = Graph(session)
    if await graph.connected(me, target):
        raise Conflict(f"you are already connected to member {target}", code="already_connected")
    if not (await graph.connected(me, introducer) and await graph.connected(introducer, target)):
        raise Conflict(f"member {introducer} is not a connection of both you and member {target}", code="not_a_mutual_connection")
    intros = Introductions(session)
    open_ = await intros.open_between(me, target)
    if open_ is not None:
        raise Conflict(f"you already have an open introduction request to member {target}", code="introduction_open",
                       detail={"introduction_id": str(open_.introduction_id)})
    if await intros.open_count(me) >= limits.introduction_open_cap:
        raise Conflict(f"you have {limits.introduction_open_cap} open introduction requests, the most allowed", code="introductions_cap",
                       detail={"cap": limits.introduction_open_cap})
    at = now()
    intro = Introduction(introduction_id=uuid.uuid4(), requester_id=me, introducer_id=introducer, target_id=target, message=message,
                         status="requested", created_at=at, updated_at=at)
    intros.add(intro)
    await session.flush()
    await outbox.publish(session, events.INTRODUCTION_REQUESTED, _introduction_event(intro, at), key=str(me), subject=str(intro.introduction_id))
    return intro


async def introductions(session: AsyncSession, me: uuid.UUID, role: str, limit: int,
                        after: tuple[datetime, uuid.UUID] | None) -> list[Introduction]:
    return await Introductions(session).page(me, role, limit, after)


async def _introduction_for(session: AsyncSession, me: uuid.UUID, introduction_id: uuid.UUID) -> Introduction:
    intro = await Introductions(session).get_for_update(introduction_id)
    # The target does not see a request the introducer has not forwarded.
    if intro is None or me not in (intro.requester_id, intro.introducer_id, intro.target_id) or (
            me == intro.target_id and intro.status == "requested"):
        raise NotFound(f"introduction {introduction_id} not found", code="introduction_not_found")
    return intro


def _require_status(intro: Introduction, status: str, action: str) -> None:
    if intro.status != status:
        raise Conflict(f"introduction {intro.introduction_id} is {intro.status}; it can be {action} only when {status}",
                       code="introduction_state", detail={"status": intro.status})


async def forward_introduction(session: AsyncSession, me: uuid.UUID, introduction_id: uuid.UUID, note: str | None) -> Introduction:
    intro = await _introduction_for(session, me, introduction_id)
    if me != intro.introducer_id:
        raise Forbidden("only the introducer can forward this introduction", code="not_the_introducer")
    _require_status(intro, "requested", "forwarded")
    if await Graph(session).block_between(intro.requester_id, intro.target_id):
        raise Conflict("this introduction can no longer be forwarded", code="introduction_unavailable")
    at = now()
    intro.status, intro.forward_note, intro.updated_at = "forwarded", note or None, at
    await session.flush()
    await outbox.publish(session, events.INTRODUCTION_FORWARDED, _introduction_event(intro, at), key=str(me), subject=str(intro.introduction_id))
    return intro


async def decline_introduction(session: AsyncSession, me: uuid.UUID, introduction_id: uuid.UUID) -> Introduction:
    intro = await _introduction_for(session, me, introduction_id)
    if me == intro.requester_id:
        raise Forbidden("the requester cannot decline their own introduction request", code="not_yours_to_decline")
    role = "introducer" if me == intro.introducer_id else "target"
    _require_status(intro, "requested" if role == "introducer" else "forwarded", "declined by the " + role)
    at = now()
    intro.status, intro.declined_by, intro.updated_at = "declined", role, at
    await session.flush()
    await outbox.publish(session, events.INTRODUCTION_DECLINED, _introduction_event(intro, at), key=str(me), subject=str(intro.introduction_id))
    return intro


async def accept_introduction(session: AsyncSession, me: uuid.UUID, introduction_id: uuid.UUID) -> Introduction:
    seen = await Introductions(session).get(introduction_id)
    if seen is not None:
        await pair_lock(session, seen.requester_id, seen.target_id)  # the pair before the row, as everywhere
    intro = await _introduction_for(session, me, introduction_id)
    if me != intro.target_id:
        raise Forbidden("only the member being introduced to can accept", code="not_the_target")
    _require_status(intro, "forwarded", "accepted")
    if await Graph(session).block_between(intro.requester_id, intro.target_id):
        raise Conflict("this introduction can no longer be accepted", code="introduction_unavailable")
    at = now()
    intro.status, intro.updated_at = "accepted", at
    await session.flush()
    await outbox.publish(session, events.INTRODUCTION_ACCEPTED, _introduction_event(intro, at), key=str(me), subject=str(intro.introduction_id))
    await _connect(session, intro.requester_id, intro.target_id, "introduction", at)
    # Same transaction: the two members introduced find a conversation opened with the introducer's note.
    await conversations.open_from_introduction(session, intro, at)
    return intro


# -- suggestions -------------------------------------------------------------------------------------

async def suggestions(session: AsyncSession, me: uuid.UUID, limit: int) -> list[Any]:
    return await Graph(session).suggestions(me, limit)


async def dismiss_suggestion(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> None:
    if me == other:
        raise Unprocessable("you cannot dismiss yourself", code="self_dismiss")
    if not await Members(session).exists(other):
        raise _not_found(other)
    await Graph(session).dismiss(me, other)


# -- profile events ----------------------------------------------------------------------------------

async def forget_member(session: AsyncSession, member_id: uuid.UUID, deleted_at: datetime) -> None:
    """An account was deleted: remove its edges, follows, blocks, pending invitations and open
    introductions; anonymise what must remain (the member row, notes and messages it wrote); erase its
    conversation messages, take it out of its conversations and close its direct ones."""
    members = Members(session)
    if await members.get(member_id) is None:
        return
    # Invitation and introduction rows first, the member row after: the lock order every request keeps.
    # Once the row is held FOR UPDATE no request can newly refer to the member (see Members.hold); the
    # second pass sweeps what requests that held it before us committed meanwhile.
    invitations, introductions = Invitations(session), Introductions(session)
    await invitations.cancel_all_of(member_id, deleted_at)
    await introductions.close_all_of(member_id, deleted_at)
    if await members.lock_for_deletion(member_id) is None:
        return
    await invitations.cancel_all_of(member_id, deleted_at)
    await introductions.close_all_of(member_id, deleted_at)
    graph = Graph(session)
    former = await graph.disconnect_all(member_id)
    await outbox.publish_many(session, [
        (events.CONNECTION_REMOVED, events.ConnectionRemoved(a_id=member_id, b_id=o, removed_at=deleted_at), str(member_id), str(o))
        for o in former
    ])
    await _publish_unfollows(session, await graph.remove_all_follows(member_id), key=member_id)
    await graph.remove_blocks_of(member_id)
    await graph.remove_dismissals_of(member_id)
    await conversations.forget_member(session, member_id, deleted_at)
    await members.anonymise(member_id, deleted_at)
