"""Connections' HTTP routes (thin: parse, call the rules in `service`, shape the answer)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.connections import cursor, service
from services.connections.config import Settings
from services.connections.models import Introduction, Invitation
from services.connections.schemas import (
    BlockRead, ConnectionCount, ConnectionPage, ConnectionRead, DegreesRead, FollowRead, IntroductionCreate, IntroductionForward,
    IntroductionPage, IntroductionRead, InvitationCreate, InvitationPage, InvitationRead, MemberRef, SuggestionList, SuggestionRead,
)
from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session

router = APIRouter(prefix="/v1")
LABELS = {0: "self", 1: "1st", 2: "2nd", 3: "3rd", None: "beyond"}


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


limits = Depends(_settings)
PageSize = Query(20, ge=1, le=100, description="Items per page")
Cursor = Query(None, alias="cursor", max_length=200, description="`next_cursor` of the previous page")


def _invitation(inv: Invitation) -> InvitationRead:
    return InvitationRead.model_validate(inv, from_attributes=True)


def _introduction(intro: Introduction) -> IntroductionRead:
    return IntroductionRead.model_validate(intro, from_attributes=True)


# -- follows ----------------------------------------------------------------------------------------

@router.put("/follows/{member_id}", tags=["follows"], response_model=FollowRead, status_code=201,
            responses={200: {"model": FollowRead, "description": "Already following"}, **error_responses(401, 403, 404, 422)})
async def follow(member_id: uuid.UUID, response: Response, me: Principal = current_member, db: AsyncSession = session) -> FollowRead:
    """Follow a member's content without a connection. Idempotent: 201 when new, 200 when already following."""
    row, created = await service.follow(db, me.member_id, member_id)
    response.status_code = 201 if created else 200
    return FollowRead.model_validate(row, from_attributes=True)


@router.delete("/follows/{member_id}", tags=["follows"], status_code=204, responses=error_responses(401, 422))
async def unfollow(member_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Stop following a member. Idempotent: 204 whether or not you were following."""
    await service.unfollow(db, me.member_id, member_id)
    return Response(status_code=204)


# -- blocks -----------------------------------------------------------------------------------------

@router.put("/blocks/{member_id}", tags=["blocks"], response_model=BlockRead, status_code=201,
            responses={200: {"model": BlockRead, "description": "Already blocked"}, **error_responses(401, 404, 422)})
async def block(member_id: uuid.UUID, response: Response, me: Principal = current_member, db: AsyncSession = session) -> BlockRead:
    """Block a member: your connection, pending invitations and follows both ways are removed, and each of
    you disappears from the other's degrees, suggestions and invitations. Idempotent (200 when already blocked)."""
    at, created = await service.block(db, me.member_id, member_id)
    response.status_code = 201 if created else 200
    return BlockRead(blocker_id=me.member_id, blocked_id=member_id, created_at=at)


@router.delete("/blocks/{member_id}", tags=["blocks"], status_code=204, responses=error_responses(401, 422))
async def unblock(member_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Lift a block. Nothing that the block removed comes back. Idempotent."""
    await service.unblock(db, me.member_id, member_id)
    return Response(status_code=204)


# -- invitations ------------------------------------------------------------------------------------

@router.post("/invitations", tags=["invitations"], response_model=InvitationRead, status_code=201,
             responses={200: {"model": InvitationRead, "description": "The same invitation is already pending"},
                        **error_responses(400, 401, 403, 404, 409, 422, 429)})
async def send_invitation(body: InvitationCreate, response: Response, me: Principal = current_member, db: AsyncSession = session,
                          settings: Settings = limits) -> InvitationRead:
    """Invite a member to connect. A repeat while one is pending returns it (200) instead of a duplicate.
    Limits: pending outgoing invitations (409 `pending_invitations_cap`), sends per 7 days (429),
    members whose invitations are mostly declined or ignored are restricted for a while (403 `invitations_restricted`)."""
    inv, created = await service.send_invitation(db, settings, me.member_id, body.to_id, body.note, via_suggestion=body.via_suggestion)
    response.status_code = 201 if created else 200
    return _invitation(inv)


@router.get("/invitations", tags=["invitations"], response_model=InvitationPage, responses=error_responses(401, 422))
async def list_invitations(direction: Literal["in", "out"] = Query(description="in: received, out: sent"),
                           status: Literal["pending", "accepted", "declined", "withdrawn", "expired", "cancelled", "any"] = "pending",
                           limit: int = PageSize, cursor_: str | None = Cursor,
                           me: Principal = current_member, db: AsyncSession = session) -> InvitationPage:
    """Your invitations, newest first."""
    rows = await service.invitations(db, me.member_id, direction, None if status == "any" else status, limit, cursor.decode(cursor_))
    nxt = cursor.encode(rows[-1].created_at, rows[-1].invitation_id) if len(rows) == limit else None
    return InvitationPage(items=[_invitation(r) for r in rows], next_cursor=nxt)


@router.post("/invitations/{invitation_id}/accept", tags=["invitations"], response_model=InvitationRead,
             responses=error_responses(401, 403, 404, 409, 410, 422))
async def accept_invitation(invitation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> InvitationRead:
    """Accept an invitation sent to you: you are connected (connection.made)."""
    return _invitation(await service.accept_invitation(db, me.member_id, invitation_id))


@router.post("/invitations/{invitation_id}/decline", tags=["invitations"], response_model=InvitationRead,
             responses=error_responses(401, 403, 404, 409, 410, 422))
async def decline_invitation(invitation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session,
                             settings: Settings = limits) -> InvitationRead:
    """Decline an invitation sent to you."""
    return _invitation(await service.decline_invitation(db, settings, me.member_id, invitation_id))


@router.post("/invitations/{invitation_id}/withdraw", tags=["invitations"], response_model=InvitationRead,
             responses=error_responses(401, 403, 404, 409, 410, 422))
async def withdraw_invitation(invitation_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> InvitationRead:
    """Withdraw an invitation you sent, while it is pending."""
    return _invitation(await service.withdraw_invitation(db, me.member_id, invitation_id))


# -- connections ------------------------------------------------------------------------------------

@router.get("/connections", tags=["connections"], response_model=ConnectionPage, responses=error_responses(401, 422))
async def list_connections(limit: int = PageSize, cursor_: str | None = Cursor, me: Principal = current_member,
                           db: AsyncSession = session) -> ConnectionPage:
    """Your connections, most recent first, with each edge's provenance."""
    rows = await service.connections(db, me.member_id, limit, cursor.decode(cursor_))
    nxt = cursor.encode(rows[-1].made_at, rows[-1].other_id) if len(rows) == limit else None
    items = [ConnectionRead(member_id=r.other_id, handle=r.handle, provenance=r.provenance, made_at=r.made_at) for r in rows]
    return ConnectionPage(items=items, next_cursor=nxt)


@router.get("/connections/count", tags=["connections"], response_model=ConnectionCount, responses=error_responses(401, 404, 422))
async def count_connections(member_id: uuid.UUID | None = Query(None, description="Whose count; yours by default"),
                            me: Principal = current_member, db: AsyncSession = session) -> ConnectionCount:
    """How many connections you (or another visible member) have."""
    whose = member_id or me.member_id
    return ConnectionCount(member_id=whose, count=await service.connection_count(db, me.member_id, whose))


@router.delete("/connections/{member_id}", tags=["connections"], status_code=204, responses=error_responses(401, 404, 422))
async def remove_connection(member_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Remove a connection (connection.removed). 404 `not_connected` when there is none."""
    await service.remove_connection(db, me.member_id, member_id)
    return Response(status_code=204)


@router.get("/degrees/{member_id}", tags=["connections"], response_model=DegreesRead, responses=error_responses(401, 404, 422))
async def degrees(member_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> DegreesRead:
    """How you are connected to a member: 1st, 2nd, 3rd or beyond, your mutual connections and one shortest path."""
    d = await service.degrees(db, me.member_id, member_id)
    sep = d.separation

    def ref(m: uuid.UUID) -> MemberRef:
        return MemberRef(member_id=m, handle=d.handles.get(m, ""))

    return DegreesRead(
        member_id=member_id, degree=sep.degree, label=LABELS[sep.degree], mutual_count=len(sep.mutuals),  # type: ignore[arg-type]
        mutuals=[ref(m) for m in d.mutuals_shown], path=[ref(m) for m in sep.path] if sep.path else None,
    )


# -- introductions ----------------------------------------------------------------------------------

@router.post("/introductions", tags=["introductions"], response_model=IntroductionRead, status_code=201,
             responses=error_responses(400, 401, 403, 404, 409, 422))
async def request_introduction(body: IntroductionCreate, me: Principal = current_member, db: AsyncSession = session,
                               settings: Settings = limits) -> IntroductionRead:
    """Ask a mutual connection (introducer) to introduce you to a member (target), with a message."""
    return _introduction(await service.request_introduction(db, settings, me.member_id, body.introducer_id, body.target_id, body.message))


@router.get("/introductions", tags=["introductions"], response_model=IntroductionPage, responses=error_responses(401, 422))
async def list_introductions(role: Literal["requester", "introducer", "target"] = Query(description="Your part in them"),
                             limit: int = PageSize, cursor_: str | None = Cursor,
                             me: Principal = current_member, db: AsyncSession = session) -> IntroductionPage:
    """Introductions you requested, were asked to make, or were forwarded to you; newest first."""
    rows = await service.introductions(db, me.member_id, role, limit, cursor.decode(cursor_))
    nxt = cursor.encode(rows[-1].created_at, rows[-1].introduction_id) if len(rows) == limit else None
    return IntroductionPage(items=[_introduction(r) for r in rows], next_cursor=nxt)


@router.post("/introductions/{introduction_id}/forward", tags=["introductions"], response_model=IntroductionRead,
             responses=error_responses(400, 401, 403, 404, 409, 422))
async def forward_introduction(introduction_id: uuid.UUID, body: IntroductionForward | None = None, me: Principal = current_member,
                               db: AsyncSession = session) -> IntroductionRead:
    """Introducer: pass the request on to the target, with your own note."""
    return _introduction(await service.forward_introduction(db, me.member_id, introduction_id, body.note if body else None))


@router.post("/introductions/{introduction_id}/decline", tags=["introductions"], response_model=IntroductionRead,
             responses=error_responses(401, 403, 404, 409, 422))
async def decline_introduction(introduction_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> IntroductionRead:
    """Introducer (while requested) or target (once forwarded): decline."""
    return _introduction(await service.decline_introduction(db, me.member_id, introduction_id))


@router.post("/introductions/{introduction_id}/accept", tags=["introductions"], response_model=IntroductionRead,
             responses=error_responses(401, 403, 404, 409, 422))
async def accept_introduction(introduction_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> IntroductionRead:
    """Target: accept; you and the requester are connected (provenance introduction)."""
    return _introduction(await service.accept_introduction(db, me.member_id, introduction_id))


# -- people you may know ----------------------------------------------------------------------------

@router.get("/suggestions", tags=["suggestions"], response_model=SuggestionList, responses=error_responses(401, 422))
async def suggestions(limit: int = Query(10, ge=1, le=50), me: Principal = current_member, db: AsyncSession = session) -> SuggestionList:
    """People you may know: friends of friends ranked by Adamic–Adar, weighted up by shared topics."""
    rows = await service.suggestions(db, me.member_id, limit)
    return SuggestionList(items=[SuggestionRead(member_id=r["member_id"], handle=r["handle"], mutual_count=r["mutuals"],
                                                shared_topics=r["shared_topics"], score=float(r["score"])) for r in rows])


@router.post("/suggestions/{member_id}/dismiss", tags=["suggestions"], status_code=204, responses=error_responses(401, 404, 422))
async def dismiss_suggestion(member_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Never suggest this member to you again."""
    await service.dismiss_suggestion(db, me.member_id, member_id)
    return Response(status_code=204)
