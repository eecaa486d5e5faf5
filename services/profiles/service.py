"""Profiles' rules: accounts, sessions, email verification, profiles with visibility, trust, privacy.

Functions take the request's (or consumed batch's) session and never commit. Some refusals must still
leave a trace — a failed sign-in counts towards throttling, a reused refresh token revokes its family —
so those functions *return* a `Refused` (the caller commits, then raises its error) instead of raising.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.auth import AUDIENCE, ISSUER
from services.kit.errors import AgoraError, BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized, Unprocessable
from services.kit.outbox import Outbox
from services.profiles import events
from services.profiles.config import Settings
from services.profiles.keys import KeyRing
from services.profiles.models import Account, EmailVerification, Profile, RefreshToken, outbox as outbox_rows
from services.profiles.repository import Accounts, EmailVerifications, Graph, LoginFailures, Profiles, RefreshTokens, Scores
from services.profiles.schemas import (
    AccountCreate, AccountExport, ExportedSession, MemberCard, MemberPage, OwnProfileRead, ProfileList, ProfileRead, ProfileUpdate, TokenPair,
    TrustSignals,
)
from services.profiles.trust import TrustPolicy
from services.profiles.visibility import FIELDS, Relation, effective, visible_fields

outbox = Outbox(outbox_rows, source="agora/profiles")
log = logging.getLogger("agora.profiles")

COMMON_PASSWORDS = frozenset({
    "password", "password1", "password12", "password123", "passw0rd", "1234567890", "12345678910", "0123456789",
    "qwertyuiop", "qwerty1234", "1q2w3e4r5t", "iloveyou12", "letmein123", "welcome123", "abcdefghij", "changeme12",
})
EMAIL_VERIFICATION_COOLDOWN = timedelta(seconds=60)


class ServiceUnavailable(AgoraError):
    status, code = 503, "unavailable"


@dataclass(frozen=True)
class Refused:
    """A refusal whose bookkeeping must commit: commit the session, then raise `error`."""

    error: AgoraError


@dataclass
class Identity:
    """What the rules need from the running service: settings, the password hasher, the signing keys."""

    settings: Settings
    hasher: PasswordHasher
    dummy_hash: str  # verified against when the email is unknown, so both cases cost the same
    keys: KeyRing | None
    policy: TrustPolicy

    @classmethod
    async def create(cls, settings: Settings, keys: KeyRing | None) -> "Identity":
        hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=settings.argon2_parallelism
        )
        dummy = await asyncio.to_thread(hasher.hash, secrets.token_urlsafe(16))
        return cls(settings=settings, hasher=hasher, dummy_hash=dummy, keys=keys, policy=TrustPolicy.from_settings(settings))


def now_utc() -> datetime:
    return datetime.now(UTC)


def token_digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def weak_password_reason(password: str, *, handle: str, email: str) -> str | None:
    lowered = password.lower()
    local = email.split("@", 1)[0].lower()
    if lowered in COMMON_PASSWORDS:
        return "this password is one of the most common ones"
    if len(set(password)) < 5:
        return "use at least 5 different characters"
    if handle.lower() in lowered:
        return "the password must not contain your handle"
    if len(local) >= 4 and local in lowered:
        return "the password must not contain your email name"
    return None


async def _password_matches(identity: Identity, password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(identity.hasher.verify, password_hash, password)  # ~50 ms of CPU: off the loop
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- accounts -------------------------------------------------------------------------------------

async def register(session: AsyncSession, identity: Identity, data: AccountCreate) -> Account:
    accounts = Accounts(session)
    email = data.email.strip()
    if reason := weak_password_reason(data.password, handle=data.handle, email=email):
        raise Unprocessable(f"password: {reason}", code="weak_password")
    if await accounts.email_taken(email):
        raise Conflict("an account with this email already exists", code="email_taken")
    if await accounts.handle_taken(data.handle):
        raise Conflict("this handle is taken", code="handle_taken")
    password_hash = await asyncio.to_thread(identity.hasher.hash, data.password)
    try:
        account = await accounts.add(Account(email=email, handle=data.handle, password_hash=password_hash))
    except IntegrityError:
        raise Conflict("an account with this email or handle already exists", code="account_exists") from None
    await Profiles(session).add(Profile(member_id=account.id, handle=account.handle, visibility={}))
    await outbox.publish(
        session,
        events.REGISTERED,
        events.ProfileRegistered(member_id=account.id, handle=account.handle, registered_at=account.created_at),
        key=str(account.id),
        subject=str(account.id),
    )
    return account


async def _account(session: AsyncSession, member_id: uuid.UUID, *, lock: bool = False) -> Account:
    account = await Accounts(session).get(member_id, lock=lock)
    if account is None:
        raise NotFound("this account no longer exists", code="account_not_found")
    return account


async def account_of(session: AsyncSession, member_id: uuid.UUID) -> Account:
    return await _account(session, member_id)


# --- sign-in throttling ---------------------------------------------------------------------------

def _throttle_keys(email: str, address: str | None) -> list[str]:
    keys = [f"email:{email.strip().lower()}"]
    if address:
        keys.append(f"address:{address}")
    return keys


async def _check_throttle(session: AsyncSession, keys: list[str], now: datetime) -> TooManyRequests | None:
    wait = await LoginFailures(session).locked_for(keys, now)
    if wait > 0:
        return TooManyRequests(f"too many failed sign-ins; try again in {int(wait + 0.999)} s", retry_after=wait)
    return None


async def _count_failure(session: AsyncSession, identity: Identity, keys: list[str], now: datetime) -> None:
    s = identity.settings
    failures = LoginFailures(session)
    window = timedelta(seconds=s.login_failure_window_seconds)
    for key in keys:
        free = s.login_free_failures_per_account if key.startswith("email:") else s.login_free_failures_per_address
        count = await failures.record(key, now, window)
        if count >= free:
            # Exponential backoff: the free attempts, then 1x, 2x, 4x... the base, capped.
            wait = min(s.login_backoff_base_seconds * 2 ** (count - free), s.login_backoff_max_seconds)
            await failures.lock(key, now + timedelta(seconds=wait))
            # The kind of key only: emails and addresses are personal data and stay out of the logs.
            log.warning("sign-in locked for %.0f s after %d failures (%s key)", wait, count, key.split(":", 1)[0])


async def _verify_password_throttled(
    session: AsyncSession, identity: Identity, account: Account | None, email: str, password: str, address: str | None, now: datetime,
) -> AgoraError | None:
    """None when the password is right; else the error to answer with (the failure is already counted)."""
    keys = _throttle_keys(email, address)
    if throttled := await _check_throttle(session, keys, now):
        return throttled
    ok = await _password_matches(identity, account.password_hash if account else identity.dummy_hash, password)
    if ok and account is not None:
        await LoginFailures(session).clear(keys[0])
        return None
    await _count_failure(session, identity, keys, now)
    return Unauthorized("email or password is wrong", code="invalid_credentials")


# --- sessions -------------------------------------------------------------------------------------

def _signer(identity: Identity) -> KeyRing:
    if identity.keys is None:
        raise ServiceUnavailable("sign-in is not available: no signing keys are configured (PROFILES_SIGNING_KEYS_FILE)", code="signing_keys_unavailable")
    return identity.keys


def access_token(identity: Identity, member_id: uuid.UUID, family_id: uuid.UUID, now: datetime) -> str:
    iat = int(now.timestamp())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": str(member_id), "iat": iat, "exp": iat + identity.settings.access_token_ttl_seconds,
        "jti": uuid.uuid4().hex, "typ": "access", "sid": str(family_id),
    }
    return _signer(identity).sign(claims)


async def _issue(session: AsyncSession, identity: Identity, member_id: uuid.UUID, family_id: uuid.UUID, now: datetime) -> TokenPair:
    token = access_token(identity, member_id, family_id, now)
    raw = secrets.token_urlsafe(32)
    await RefreshTokens(session).add(RefreshToken(
        family_id=family_id, member_id=member_id, token_hash=token_digest(raw), created_at=now,
        expires_at=now + timedelta(seconds=identity.settings.refresh_token_ttl_seconds),
    ))
    return TokenPair(access_token=token, refresh_token=raw, expires_in=identity.settings.access_token_ttl_seconds)


async def sign_in(session: AsyncSession, identity: Identity, email: str, password: str, address: str | None) -> TokenPair | Refused:
    _signer(identity)
    now = now_utc()
    account = await Accounts(session).by_email(email.strip())
    if error := await _verify_password_throttled(session, identity, account, email, password, address, now):
        return Refused(error)
    assert account is not None
    if identity.hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await asyncio.to_thread(identity.hasher.hash, password)
    await refresh_trust(session, identity.policy, account.id, now)
    return await _issue(session, identity, account.id, uuid.uuid4(), now)


async def refresh(session: AsyncSession, identity: Identity, raw: str) -> TokenPair | Refused:
    _signer(identity)
    now = now_utc()
    tokens = RefreshTokens(session)
    row = await tokens.by_hash(token_digest(raw))
    if row is None:
        return Refused(Unauthorized("refresh token is not valid; sign in again", code="invalid_refresh_token"))
    if row.revoked_at is not None:
        return Refused(Unauthorized("this session was signed out; sign in again", code="refresh_token_revoked"))
    if row.used_at is not None:
        # A used token presented again: it leaked, or a client raced itself. Either way the family is unsafe.
        revoked = await tokens.revoke_family(row.family_id, now)
        log.warning("refresh token reused: session %s of member %s revoked (%d tokens)", row.family_id, row.member_id, revoked)
        return Refused(Unauthorized("refresh token was already used; the session is revoked, sign in again", code="refresh_token_reused"))
    if row.expires_at <= now:
        return Refused(Unauthorized("refresh token expired; sign in again", code="refresh_token_expired"))
    row.used_at = now
    await refresh_trust(session, identity.policy, row.member_id, now)
    return await _issue(session, identity, row.member_id, row.family_id, now)


async def sign_out(session: AsyncSession, member_id: uuid.UUID, family_id: uuid.UUID | None, *, everywhere: bool) -> int:
    tokens = RefreshTokens(session)
    if everywhere or family_id is None:
        return await tokens.revoke_member(member_id, now_utc())
    return await tokens.revoke_family(family_id, now_utc(), member_id=member_id)


async def change_password(
    session: AsyncSession, identity: Identity, member_id: uuid.UUID, current: str, new: str, address: str | None,
) -> Refused | None:
    now = now_utc()
    account = await _account(session, member_id, lock=True)
    if error := await _verify_password_throttled(session, identity, account, account.email, current, address, now):
        if isinstance(error, Unauthorized):
            error = Forbidden("the current password is wrong", code="wrong_password")
        return Refused(error)
    if new == current:
        raise Unprocessable("new_password: must differ from the current password", code="weak_password")
    if reason := weak_password_reason(new, handle=account.handle, email=account.email):
        raise Unprocessable(f"new_password: {reason}", code="weak_password")
    account.password_hash = await asyncio.to_thread(identity.hasher.hash, new)
    # Every session ends: whoever knew the old password keeps at most an access token until it expires.
    await RefreshTokens(session).revoke_member(member_id, now)
    return None


# --- email verification ---------------------------------------------------------------------------

async def request_email_verification(session: AsyncSession, identity: Identity, member_id: uuid.UUID) -> EmailVerification:
    now = now_utc()
    account = await _account(session, member_id, lock=True)
    if account.email_verified_at is not None:
        raise Conflict("this email is already verified", code="email_already_verified")
    verifications = EmailVerifications(session)
    last = await verifications.latest_requested_at(member_id)
    if last is not None and now - last < EMAIL_VERIFICATION_COOLDOWN:
        wait = (EMAIL_VERIFICATION_COOLDOWN - (now - last)).total_seconds()
        raise TooManyRequests("a verification email was just requested; wait before asking again", retry_after=wait)
    raw = secrets.token_urlsafe(32)
    row = EmailVerification(
        token_hash=token_digest(raw), member_id=member_id, email=account.email, created_at=now,
        expires_at=now + timedelta(seconds=identity.settings.email_verification_ttl_seconds),
    )
    await verifications.add(row)
    await outbox.publish(
        session, events.VERIFICATION_REQUESTED,
        events.EmailVerificationRequested(member_id=member_id, email=account.email, token=raw, expires_at=row.expires_at),
        key=str(member_id), subject=str(member_id),
    )
    return row


async def confirm_email(session: AsyncSession, identity: Identity, raw: str) -> Account:
    now = now_utc()
    row = await EmailVerifications(session).by_hash(token_digest(raw))
    if row is None or row.used_at is not None:
        raise BadRequest("this verification link is not valid (or was already used)", code="invalid_verification_token")
    if row.expires_at <= now:
        raise BadRequest("this verification link expired; ask for a new one", code="verification_token_expired")
    account = await _account(session, row.member_id, lock=True)
    if account.email.lower() != row.email.lower():
        raise BadRequest("this verification link is for another email address", code="invalid_verification_token")
    row.used_at = now
    if account.email_verified_at is None:
        account.email_verified_at = now
        await outbox.publish(
            session, events.EMAIL_VERIFIED, events.EmailVerified(member_id=account.id, verified_at=now),
            key=str(account.id), subject=str(account.id),
        )
        await refresh_trust(session, identity.policy, account.id, now, account=account)
    return account


# --- trust ----------------------------------------------------------------------------------------

async def refresh_trust(
    session: AsyncSession, policy: TrustPolicy, member_id: uuid.UUID, now: datetime, *, account: Account | None = None,
) -> Account | None:
    """Recompute the member's level from their signals; publish `trust.changed` when it moved."""
    account = account or await Accounts(session).get(member_id, lock=True)
    if account is None:
        return None
    verified = account.email_verified_at is not None
    level = policy.level(email_verified=verified, karma=account.karma, registered_at=account.created_at, now=now)
    if level != account.trust_level:
        previous, account.trust_level = account.trust_level, level
        await outbox.publish(
            session, events.TRUST_CHANGED,
            events.TrustChanged(
                member_id=account.id, trust_level=level, previous_level=previous,  # type: ignore[arg-type]
                email_verified=verified, registered_at=account.created_at, karma=account.karma, changed_at=now,
            ),
            key=str(account.id), subject=str(account.id),
        )
    return account


async def apply_tally(
    session: AsyncSession, policy: TrustPolicy, *, target_id: uuid.UUID, author_id: uuid.UUID, score: int, version: int, at: datetime,
) -> None:
    account = await Accounts(session).get(author_id, lock=True)  # serialises karma updates per member
    if account is None:
        return  # deleted (or never a member here): nothing to credit
    scores = Scores(session)
    if not await scores.apply(target_id=target_id, author_id=author_id, score=score, version=version, at=at):
        return  # an older or repeated version
    account.karma = await scores.karma(author_id)
    await refresh_trust(session, policy, author_id, now_utc(), account=account)


async def apply_tallies(session: AsyncSession, policy: TrustPolicy, tallies: list[tuple[uuid.UUID, uuid.UUID, int, int, datetime]]) -> None:
    """`apply_tally` for a batch of (target, author, score, version, at): the latest version per target, the
    authors locked once, karma and trust recomputed once per author whose scores changed."""
    latest: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, int, int, datetime]] = {}
    for t in tallies:
        known = latest.get(t[0])
        if known is None or known[3] < t[3]:
            latest[t[0]] = t
    accounts = await Accounts(session).lock_many(sorted({t[1] for t in latest.values()}))
    scores = Scores(session)
    changed = await scores.apply_many([t for t in latest.values() if t[1] in accounts])
    if not changed:
        return
    karma = await scores.karma_many(sorted(changed))
    now = now_utc()
    for author in sorted(changed):
        account = accounts[author]
        account.karma = karma[author]
        await refresh_trust(session, policy, author, now, account=account)


async def apply_connection(session: AsyncSession, a: uuid.UUID, b: uuid.UUID, *, connected: bool, at: datetime) -> None:
    if a == b:
        return
    if not await Accounts(session).exists(a, b):
        return  # one of them deleted their account: keep nothing about them
    await Graph(session).set(a, b, connected=connected, at=at)


# --- profiles -------------------------------------------------------------------------------------

async def relation(session: AsyncSession, reader: uuid.UUID | None, member_id: uuid.UUID) -> Relation:
    if reader is None:
        return "anonymous"
    if reader == member_id:
        return "owner"
    return "connection" if await Graph(session).connected(reader, member_id) else "member"


def _trust(account: Account) -> TrustSignals:
    return TrustSignals(
        level=account.trust_level,  # type: ignore[arg-type]
        email_verified=account.email_verified_at is not None, karma=account.karma, member_since=account.created_at,
    )


def _project(profile: Profile, shown: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in FIELDS:
        value = getattr(profile, field)
        if field in shown:
            out[field] = list(value) if field in ("skills", "topics") else value
        else:
            out[field] = [] if field in ("skills", "topics") else None
    return out


async def _profile_and_account(session: AsyncSession, member_id: uuid.UUID) -> tuple[Profile, Account]:
    found = await Profiles(session).with_account(member_id)
    if found is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    return found


async def read_profile(session: AsyncSession, reader: uuid.UUID | None, member_id: uuid.UUID) -> ProfileRead:
    profile, account = await _profile_and_account(session, member_id)
    rel = await relation(session, reader, member_id)
    return ProfileRead(
        member_id=member_id, handle=profile.handle, relation=rel, trust=_trust(account),
        **_project(profile, visible_fields(rel, profile.visibility)),
    )


async def read_profiles(session: AsyncSession, reader: uuid.UUID | None, member_ids: list[uuid.UUID]) -> ProfileList:
    """`read_profile` for several members in two queries (the gateway's author cards)."""
    ids = list(dict.fromkeys(member_ids))
    found = await Profiles(session).with_accounts(ids)
    connected = await Graph(session).connected_among(reader, [m for m in ids if m in found]) if reader is not None else set()
    items = []
    for m in ids:
        if m not in found:
            continue
        profile, account = found[m]
        rel: Relation = "anonymous" if reader is None else "owner" if reader == m else "connection" if m in connected else "member"
        items.append(ProfileRead(member_id=m, handle=profile.handle, relation=rel, trust=_trust(account),
                                 **_project(profile, visible_fields(rel, profile.visibility))))
    return ProfileList(items=items)


async def own_profile(session: AsyncSession, member_id: uuid.UUID) -> OwnProfileRead:
    profile, account = await _profile_and_account(session, member_id)
    return OwnProfileRead(
        member_id=member_id, handle=profile.handle, relation="owner", trust=_trust(account),
        visibility=effective(profile.visibility), updated_at=profile.updated_at,  # type: ignore[arg-type]
        **_project(profile, frozenset(FIELDS)),
    )


async def update_profile(session: AsyncSession, member_id: uuid.UUID, data: ProfileUpdate) -> OwnProfileRead:
    profiles = Profiles(session)
    profile = await profiles.get(member_id, lock=True)
    if profile is None:
        raise NotFound("this account no longer exists", code="account_not_found")
    changed = False
    for field in data.model_fields_set - {"visibility"}:
        value = getattr(data, field)
        if field in ("skills", "topics") and value is None:
            value = []
        if value != getattr(profile, field):
            setattr(profile, field, value)
            changed = True
    if data.visibility:
        merged = {**(profile.visibility or {}), **data.visibility}
        if merged != profile.visibility:
            profile.visibility = merged
            changed = True
    if changed:
        now = now_utc()
        profile.updated_at = now
        await session.flush()
        public_topics = list(profile.topics) if effective(profile.visibility)["topics"] == "public" else []
        await outbox.publish(
            session, events.UPDATED,
            events.ProfileUpdated(member_id=member_id, handle=profile.handle, topics=public_topics, updated_at=now),
            key=str(member_id), subject=str(member_id),
        )
    return await own_profile(session, member_id)


# --- search ---------------------------------------------------------------------------------------

def _query_tag(q: str) -> str:
    return hashlib.blake2b(q.encode(), digest_size=6).hexdigest()


def encode_cursor(score: float, member_id: uuid.UUID, q: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([score, str(member_id), _query_tag(q)])).decode().rstrip("=")


def decode_cursor(cursor: str, q: str) -> tuple[float, uuid.UUID]:
    try:
        score, member, tag = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = (float(score), uuid.UUID(member))
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("cursor is not valid; use next_cursor from the previous page", code="invalid_cursor") from None
    if tag != _query_tag(q):
        raise BadRequest("cursor belongs to another search; start again without it", code="invalid_cursor")
    return parsed


async def search(session: AsyncSession, identity: Identity, reader: uuid.UUID | None, q: str, cursor: str | None, limit: int) -> MemberPage:
    q = q.strip()
    if not q:
        raise Unprocessable("q: must not be blank", code="invalid")
    after = decode_cursor(cursor, q) if cursor else None
    near = (await Graph(session).connections_of(reader)) + [reader] if reader else []
    rows = await Profiles(session).search(q=q, near=near, after=after, limit=limit + 1, max_candidates=identity.settings.search_max_candidates)
    items = []
    for row in rows[:limit]:
        rel: Relation = "owner" if row.member_id == reader else "connection" if row.near else "member" if reader else "anonymous"
        shown = visible_fields(rel, row.visibility)
        items.append(MemberCard(
            member_id=row.member_id, handle=row.handle, relation=rel,
            display_name=row.display_name if "display_name" in shown else None,
            headline=row.headline if "headline" in shown else None,
        ))
    next_cursor = encode_cursor(rows[limit - 1].score, rows[limit - 1].member_id, q) if len(rows) > limit else None
    return MemberPage(items=items, next_cursor=next_cursor)


# --- privacy --------------------------------------------------------------------------------------

async def export(session: AsyncSession, member_id: uuid.UUID) -> AccountExport:
    account = await _account(session, member_id)
    return AccountExport(
        account={
            "id": str(account.id), "email": account.email, "handle": account.handle, "created_at": account.created_at.isoformat(),
            "email_verified_at": account.email_verified_at.isoformat() if account.email_verified_at else None,
            "trust_level": account.trust_level, "karma": account.karma,
        },
        profile=await own_profile(session, member_id),
        sessions=[
            ExportedSession(family_id=f.family_id, started_at=f.started_at, last_refreshed_at=f.last_refreshed_at, expires_at=f.expires_at, revoked=f.revoked)
            for f in await RefreshTokens(session).families(member_id)
        ],
        connections=sorted(await Graph(session).connections_of(member_id)),
        authored_scores=[
            {"target_id": str(s.target_id), "score": s.score, "version": s.version, "updated_at": s.updated_at.isoformat()}
            for s in await Scores(session).of_author(member_id)
        ],
        exported_at=now_utc(),
    )


async def delete_account(session: AsyncSession, identity: Identity, member_id: uuid.UUID, password: str, address: str | None) -> Refused | None:
    """Erase the member's personal data (account, profile, sessions, tokens, read-model rows) and announce it."""
    now = now_utc()
    account = await _account(session, member_id, lock=True)
    if error := await _verify_password_throttled(session, identity, account, account.email, password, address, now):
        if isinstance(error, Unauthorized):
            error = Forbidden("the password is wrong", code="wrong_password")
        return Refused(error)
    await Graph(session).forget(member_id)
    await Scores(session).forget(member_id)
    await Accounts(session).remove(account)
    await outbox.publish(
        session, events.ACCOUNT_DELETED, events.AccountDeleted(member_id=member_id, deleted_at=now),
        key=str(member_id), subject=str(member_id),
    )
    return None
