"""What profiles publishes (topic agora.profiles, key = member id).

Only `email.verification_requested` carries personal data (the address and the single-use token a mail
sender needs); every other event carries ids, the public handle, public topics and trust signals.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from services.catalog import PROFILES
from services.kit.events import EventType
from services.profiles.trust import TrustLevel


class ProfileRegistered(BaseModel):
    member_id: uuid.UUID
    handle: str
    registered_at: datetime


class ProfileUpdated(BaseModel):
    member_id: uuid.UUID
    handle: str
    topics: list[str]  # normalised tags; empty when the member's topics are not public
    updated_at: datetime


class EmailVerificationRequested(BaseModel):
    member_id: uuid.UUID
    email: str
    token: str
    expires_at: datetime


class EmailVerified(BaseModel):
    member_id: uuid.UUID
    verified_at: datetime


class TrustChanged(BaseModel):
    member_id: uuid.UUID
    trust_level: TrustLevel
    previous_level: TrustLevel
    email_verified: bool
    registered_at: datetime
    karma: int
    changed_at: datetime


class AccountDeleted(BaseModel):
    member_id: uuid.UUID
    deleted_at: datetime


REGISTERED = EventType("profile.registered", PROFILES, ProfileRegistered, "A member account was created.")
UPDATED = EventType("profile.updated", PROFILES, ProfileUpdated, "A member changed their profile (public-safe fields only).")
VERIFICATION_REQUESTED = EventType(
    "email.verification_requested", PROFILES, EmailVerificationRequested,
    "A member asked to verify their email: a mail sender delivers the token (single use, expires at expires_at).",
)
EMAIL_VERIFIED = EventType("email.verified", PROFILES, EmailVerified, "A member proved they own their email address.")
TRUST_CHANGED = EventType("trust.changed", PROFILES, TrustChanged, "A member's derived trust level changed, with the signals behind it.")
ACCOUNT_DELETED = EventType(
    "account.deleted", PROFILES, AccountDeleted,
    "A member deleted their account: profiles erased their personal data; other services anonymise what they hold.",
)

PUBLISHED = [REGISTERED, UPDATED, VERIFICATION_REQUESTED, EMAIL_VERIFIED, TRUST_CHANGED, ACCOUNT_DELETED]
