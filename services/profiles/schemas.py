"""Profiles' request and response bodies. Requests derive from kit's `Model` (unknown fields are a 422)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints

from services.kit.web import Model
from services.profiles.trust import TrustLevel
from services.profiles.visibility import Relation, Visibility

FieldName = Literal["display_name", "headline", "bio", "location", "company", "website", "skills", "topics"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF and CR are text
_TAG = re.compile(r"^[a-z0-9][a-z0-9+#.-]{0,39}$")


def storable(value: str) -> str:
    """Text PostgreSQL can store: no NUL (nor other control characters), no lone UTF-16 surrogates."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _text(value: str | None) -> str | None:
    """Trimmed text without control characters; blank means 'clear this field'."""
    if value is None:
        return None
    return storable(value).strip() or None


def _line(value: str | None) -> str | None:
    value = _text(value)
    if value is not None and ("\n" in value or "\r" in value):
        raise ValueError("must be a single line")
    return value


def _website(value: str | None) -> str | None:
    value = _line(value)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise ValueError("must be an http:// or https:// URL")
    return value


def normalise_tag(raw: str) -> str:
    """'Machine Learning' -> 'machine-learning'; raises ValueError for what cannot be a tag."""
    tag = re.sub(r"[\s_]+", "-", raw.strip().lower()).strip("-")
    if not _TAG.match(tag):
        raise ValueError(f"{raw!r} is not a valid topic: 1-40 letters, digits or + # . -, starting with a letter or digit")
    return tag


def _tags(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        tag = normalise_tag(v)
        if tag not in out:
            out.append(tag)
    return out


def _skills(values: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for v in values:
        skill = _line(v)
        if skill is None:
            raise ValueError("skills must not be blank")
        if skill.lower() not in seen:
            seen.add(skill.lower())
            out.append(skill)
    return out


Handle = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{3,30}$")]
Password = Annotated[str, Field(min_length=10, max_length=128), AfterValidator(storable)]
AnyPassword = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(storable)]
Secret = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(storable)]
ShortLine = Annotated[str | None, Field(max_length=100), AfterValidator(_line)]
LongLine = Annotated[str | None, Field(max_length=200), AfterValidator(_line)]
Skill = Annotated[str, Field(min_length=1, max_length=50)]
Topic = Annotated[str, Field(min_length=1, max_length=40)]
SearchText = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(storable)]


# --- accounts and sessions ------------------------------------------------------------------------

class AccountCreate(Model):
    email: Annotated[EmailStr, Field(max_length=254)]
    handle: Handle = Field(description="3-30 letters, digits or underscores; unique, case-insensitive")
    password: Password = Field(description="10-128 characters, not containing your handle or email name")


class AccountRead(BaseModel):
    id: uuid.UUID
    email: str
    handle: str
    created_at: datetime


class SessionCreate(Model):
    email: Annotated[str, Field(min_length=3, max_length=254), AfterValidator(storable)]
    password: AnyPassword


class RefreshRequest(Model):
    refresh_token: Secret


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class PasswordChange(Model):
    current_password: AnyPassword
    new_password: Password


class AccountDelete(Model):
    password: AnyPassword = Field(description="the current password, to confirm")


class VerificationRequested(BaseModel):
    email: str
    expires_at: datetime


class EmailVerificationConfirm(Model):
    token: Secret


class EmailVerifiedRead(BaseModel):
    member_id: uuid.UUID
    email_verified_at: datetime


# --- profiles -------------------------------------------------------------------------------------

class ProfileUpdate(Model):
    """Only the fields present change; null or blank clears a field. `visibility` changes only the fields it names."""

    display_name: ShortLine = None
    headline: LongLine = None
    bio: Annotated[str | None, Field(max_length=2000), AfterValidator(_text)] = None
    location: ShortLine = None
    company: ShortLine = None
    website: Annotated[str | None, Field(max_length=300), AfterValidator(_website)] = None
    skills: Annotated[list[Skill] | None, Field(max_length=50), AfterValidator(lambda v: None if v is None else _skills(v))] = None
    topics: Annotated[list[Topic] | None, Field(max_length=30), AfterValidator(lambda v: None if v is None else _tags(v))] = None
    visibility: dict[FieldName, Visibility] | None = None


class TrustSignals(BaseModel):
    level: TrustLevel
    email_verified: bool
    karma: int
    member_since: datetime


class ProfileFields(BaseModel):
    display_name: str | None = None
    headline: str | None = None
    bio: str | None = None
    location: str | None = None
    company: str | None = None
    website: str | None = None
    skills: list[str] = []
    topics: list[str] = []


class ProfileRead(ProfileFields):
    """A profile as one reader sees it: fields they may not see are null (or empty), exactly like unset ones."""

    member_id: uuid.UUID
    handle: str
    relation: Relation = Field(description="how the reader relates to the member: anonymous, member, connection, owner")
    trust: TrustSignals


class OwnProfileRead(ProfileRead):
    visibility: dict[FieldName, Visibility]
    updated_at: datetime


class MemberCard(BaseModel):
    member_id: uuid.UUID
    handle: str
    display_name: str | None = None
    headline: str | None = None
    relation: Relation


class ProfileList(BaseModel):
    items: list[ProfileRead] = Field(description="in the order asked; members that do not exist (or deleted their account) are left out")


class MemberPage(BaseModel):
    items: list[MemberCard]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last page")


# --- privacy --------------------------------------------------------------------------------------

class ExportedSession(BaseModel):
    family_id: uuid.UUID
    started_at: datetime
    last_refreshed_at: datetime
    expires_at: datetime
    revoked: bool


class AccountExport(BaseModel):
    account: dict[str, object]
    profile: OwnProfileRead
    sessions: list[ExportedSession]
    connections: list[uuid.UUID]
    authored_scores: list[dict[str, object]]
    exported_at: datetime
