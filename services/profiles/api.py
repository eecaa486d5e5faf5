"""Profiles' HTTP routes: thin, the rules live in service.py.

    POST   /v1/accounts                          register
    GET    /v1/accounts/me                       the signed-in member's account
    PUT    /v1/accounts/me/password              change password (ends every session)
    DELETE /v1/accounts/me                       delete the account (password to confirm)
    GET    /v1/accounts/me/export                everything profiles holds about the member, as JSON
    POST   /v1/accounts/me/email-verification    send a verification token (as an event for the mail sender)
    POST   /v1/accounts/email-verification       confirm with the token
    POST   /v1/sessions                          sign in: access + refresh token
    POST   /v1/sessions/refresh                  rotate the refresh token
    DELETE /v1/sessions                          sign out (this session, or ?everywhere=true)
    GET    /v1/profiles/me, PATCH /v1/profiles/me
    GET    /v1/profiles/{member_id}              as the reader may see it
    GET    /v1/members/search?q=&cursor=&limit=
    GET    /.well-known/jwks.json                public signing keys
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import jwt
import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.auth import Principal, bearer_token
from services.kit.web import current_member, error_responses, optional_member, session
from services.profiles import service
from services.profiles.schemas import (
    AccountCreate, AccountDelete, AccountExport, AccountRead, EmailVerificationConfirm, EmailVerifiedRead, MemberPage, OwnProfileRead,
    PasswordChange, ProfileList, ProfileRead, ProfileUpdate, RefreshRequest, SearchText, SessionCreate, TokenPair, VerificationRequested,
)
from services.profiles.service import Identity, Refused

router = APIRouter(prefix="/v1")
keys_router = APIRouter(tags=["keys"])


def _identity(request: Request) -> Identity:
    return request.app.state.identity  # type: ignore[no-any-return]


async def _unmanaged_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as s:
        yield s


def _client_address(request: Request) -> str | None:
    # The gateway passes each client's (salted, hashed) address; without it every request would seem to come
    # from the gateway, and per-address throttling would lock everybody out at once, so it is skipped.
    return request.headers.get("x-agora-client-origin") or None


identity = Depends(_identity)
# For routes whose refusals must commit (failure counters, revoked families): they open the transaction.
own_transaction = Depends(_unmanaged_session, scope="function")


def _raise_refusal(result: Any) -> None:
    if isinstance(result, Refused):
        raise result.error


# --- accounts -------------------------------------------------------------------------------------

@router.post("/accounts", status_code=201, response_model=AccountRead, tags=["accounts"], responses=error_responses(400, 409, 413, 422))
async def register(body: AccountCreate, db: AsyncSession = session, ident: Identity = identity) -> AccountRead:
    """Create a member account. Emails and handles are unique, compared case-insensitively."""
    account = await service.register(db, ident, body)
    return AccountRead.model_validate(account, from_attributes=True)


@router.get("/accounts/me", response_model=AccountRead, tags=["accounts"], responses=error_responses(401, 404))
async def my_account(me: Principal = current_member, db: AsyncSession = session) -> AccountRead:
    return AccountRead.model_validate(await service.account_of(db, me.member_id), from_attributes=True)


@router.put("/accounts/me/password", status_code=204, tags=["accounts"], responses=error_responses(400, 401, 403, 404, 422, 429))
async def change_password(
    body: PasswordChange, request: Request, me: Principal = current_member, db: AsyncSession = own_transaction, ident: Identity = identity,
) -> Response:
    """Change the password. Every refresh token of the member is revoked: other devices sign in again."""
    async with db.begin():
        result = await service.change_password(db, ident, me.member_id, body.current_password, body.new_password, _client_address(request))
    _raise_refusal(result)
    return Response(status_code=204)


@router.delete("/accounts/me", status_code=204, tags=["accounts"], responses=error_responses(400, 401, 403, 404, 422, 429))
async def delete_account(
    body: AccountDelete, request: Request, me: Principal = current_member, db: AsyncSession = own_transaction, ident: Identity = identity,
) -> Response:
    """Delete the account and erase its personal data; publishes `account.deleted`. Needs the password."""
    async with db.begin():
        result = await service.delete_account(db, ident, me.member_id, body.password, _client_address(request))
    _raise_refusal(result)
    return Response(status_code=204)


@router.get("/accounts/me/export", response_model=AccountExport, tags=["accounts"], responses=error_responses(401, 404))
async def export(me: Principal = current_member, db: AsyncSession = session) -> AccountExport:
    """Everything profiles holds about the signed-in member."""
    return await service.export(db, me.member_id)


@router.post("/accounts/me/email-verification", status_code=202, response_model=VerificationRequested, tags=["accounts"],
             responses=error_responses(401, 404, 409, 429))
async def request_email_verification(me: Principal = current_member, db: AsyncSession = session, ident: Identity = identity) -> VerificationRequested:
    """Publish `email.verification_requested` with a single-use token; a mail sender delivers it."""
    row = await service.request_email_verification(db, ident, me.member_id)
    return VerificationRequested(email=row.email, expires_at=row.expires_at)


@router.post("/accounts/email-verification", response_model=EmailVerifiedRead, tags=["accounts"], responses=error_responses(400, 422))
async def confirm_email(body: EmailVerificationConfirm, db: AsyncSession = session, ident: Identity = identity) -> EmailVerifiedRead:
    """Confirm an email address with the token from the verification message (no sign-in needed)."""
    account = await service.confirm_email(db, ident, body.token)
    assert account.email_verified_at is not None
    return EmailVerifiedRead(member_id=account.id, email_verified_at=account.email_verified_at)


# --- sessions -------------------------------------------------------------------------------------

@router.post("/sessions", status_code=201, response_model=TokenPair, tags=["sessions"], responses=error_responses(400, 401, 422, 429, 503))
async def sign_in(body: SessionCreate, request: Request, db: AsyncSession = own_transaction, ident: Identity = identity) -> TokenPair:
    """Sign in. Failed attempts are throttled per account and per client address (429 with Retry-After)."""
    async with db.begin():
        result = await service.sign_in(db, ident, body.email, body.password, _client_address(request))
    _raise_refusal(result)
    return result  # type: ignore[return-value]


@router.post("/sessions/refresh", response_model=TokenPair, tags=["sessions"], responses=error_responses(400, 401, 422, 503))
async def refresh(body: RefreshRequest, db: AsyncSession = own_transaction, ident: Identity = identity) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once: presenting a used one revokes the session."""
    async with db.begin():
        result = await service.refresh(db, ident, body.refresh_token)
    _raise_refusal(result)
    return result  # type: ignore[return-value]


@router.delete("/sessions", status_code=204, tags=["sessions"], responses=error_responses(401, 422))
async def sign_out(
    request: Request, everywhere: Annotated[bool, Query(description="end every session of the member")] = False,
    me: Principal = current_member, db: AsyncSession = session,
) -> Response:
    """Sign out: the session of the access token (or all of them) can no longer be refreshed."""
    # The token was verified by `current_member`; its `sid` names the refresh family it was issued with.
    claims = jwt.decode(bearer_token(request.headers.get("authorization")), options={"verify_signature": False})
    try:
        family = uuid.UUID(str(claims.get("sid")))
    except ValueError:
        family = None
    await service.sign_out(db, me.member_id, family, everywhere=everywhere)
    return Response(status_code=204)


# --- profiles -------------------------------------------------------------------------------------

@router.get("/profiles/me", response_model=OwnProfileRead, tags=["profiles"], responses=error_responses(401, 404))
async def my_profile(me: Principal = current_member, db: AsyncSession = session) -> OwnProfileRead:
    return await service.own_profile(db, me.member_id)


@router.patch("/profiles/me", response_model=OwnProfileRead, tags=["profiles"], responses=error_responses(400, 401, 404, 413, 422))
async def update_my_profile(body: ProfileUpdate, me: Principal = current_member, db: AsyncSession = session) -> OwnProfileRead:
    """Change profile fields and their visibility (public, connections, private)."""
    return await service.update_profile(db, me.member_id, body)


@router.get("/profiles", response_model=ProfileList, tags=["profiles"], responses=error_responses(401, 422))
async def read_profiles(
    member_ids: Annotated[list[uuid.UUID], Query(alias="member_id", min_length=1, max_length=100,
                                                 description="repeat for each member: ?member_id=…&member_id=… (at most 100)")],
    me: Principal | None = optional_member,
    db: AsyncSession = session,
) -> ProfileList:
    """Several members' profiles at once, each as the reader may see it (a feed page's author cards)."""
    return await service.read_profiles(db, me.member_id if me else None, member_ids)


@router.get("/profiles/{member_id}", response_model=ProfileRead, tags=["profiles"], responses=error_responses(401, 404, 422))
async def read_profile(member_id: uuid.UUID, me: Principal | None = optional_member, db: AsyncSession = session) -> ProfileRead:
    """A member's profile as the reader may see it (anonymous, member, connection or owner)."""
    return await service.read_profile(db, me.member_id if me else None, member_id)


@router.get("/members/search", response_model=MemberPage, tags=["profiles"], responses=error_responses(400, 401, 422))
async def search(
    q: Annotated[SearchText, Query(description="name, handle, headline, skills or topics")],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    me: Principal | None = optional_member,
    db: AsyncSession = session,
    ident: Identity = identity,
) -> MemberPage:
    """Find members; only fields the reader may see are searched and shown."""
    return await service.search(db, ident, me.member_id if me else None, q, cursor, limit)


# --- keys -----------------------------------------------------------------------------------------

@keys_router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(ident: Identity = identity) -> Response:
    if ident.keys is None:
        return Response(orjson.dumps({"keys": []}), media_type="application/json", headers={"cache-control": "no-store"})
    ident.keys.reload_if_changed()
    return Response(orjson.dumps(ident.keys.public_jwks()), media_type="application/json", headers={"cache-control": "public, max-age=60"})
