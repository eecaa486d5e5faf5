"""Profiles' pure rules: trust levels, visibility, input normalisation, weak passwords, search cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.kit.errors import BadRequest
from services.profiles.schemas import AccountCreate, ProfileUpdate, normalise_tag
from services.profiles.service import decode_cursor, encode_cursor, weak_password_reason
from services.profiles.trust import TrustPolicy
from services.profiles.visibility import DEFAULTS, FIELDS, can_see, effective, visible_fields

NOW = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = TrustPolicy(member_age_days=7, member_karma=10, trusted_age_days=30, trusted_karma=100)


@pytest.mark.parametrize(
    ("verified", "karma", "age_days", "level"),
    [
        (False, 1000, 365, "new"),      # unverified: never above new
        (True, 0, 1, "new"),
        (True, 0, 7, "member"),         # old enough
        (True, 10, 0, "member"),        # or enough karma
        (True, 100, 29, "member"),      # trusted needs both age and karma
        (True, 99, 400, "member"),
        (True, 100, 30, "trusted"),
        (True, -1, 400, "new"),         # negative karma
    ],
)
def test_trust_levels(verified: bool, karma: int, age_days: float, level: str) -> None:
    assert POLICY.level(email_verified=verified, karma=karma, registered_at=NOW - timedelta(days=age_days), now=NOW) == level


def test_visibility_matrix() -> None:
    assert [r for r in ("anonymous", "member", "connection", "owner") if can_see(r, "public")] == ["anonymous", "member", "connection", "owner"]  # type: ignore[arg-type]
    assert [r for r in ("anonymous", "member", "connection", "owner") if can_see(r, "connections")] == ["connection", "owner"]  # type: ignore[arg-type]
    assert [r for r in ("anonymous", "member", "connection", "owner") if can_see(r, "private")] == ["owner"]  # type: ignore[arg-type]


def test_effective_visibility_falls_back_to_defaults_and_ignores_junk() -> None:
    assert effective(None) == DEFAULTS
    eff = effective({"bio": "private", "email": "public", "headline": "everyone"})
    assert eff["bio"] == "private" and "email" not in eff and eff["headline"] == DEFAULTS["headline"]
    assert visible_fields("owner", {f: "private" for f in FIELDS}) == frozenset(FIELDS)
    assert visible_fields("connection", {f: "private" for f in FIELDS}) == frozenset()


@pytest.mark.parametrize(("raw", "tag"), [("Machine Learning", "machine-learning"), ("  rust_lang ", "rust-lang"), ("C++", "c++"), ("C#", "c#"), ("web3", "web3")])
def test_topics_are_normalised(raw: str, tag: str) -> None:
    assert normalise_tag(raw) == tag


@pytest.mark.parametrize("raw", ["", "   ", "!!!", "-", "x" * 41, "émoji🙂"])
def test_bad_topics_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_tag(raw)


def test_profile_update_tracks_only_given_fields_and_dedupes() -> None:
    u = ProfileUpdate.model_validate({"topics": ["AI", "ai", "A I"], "skills": ["Go", "go", "SQL"], "headline": "  "})
    assert u.model_fields_set == {"topics", "skills", "headline"}
    assert u.topics == ["ai", "a-i"] and u.skills == ["Go", "SQL"] and u.headline is None


@pytest.mark.parametrize("body", [{"visibility": {"handle": "public"}}, {"website": "ftp://x.org"}, {"bio": "a\x07b"}, {"unknown": 1}, {"skills": [""]}])
def test_profile_update_refuses_bad_input(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ProfileUpdate.model_validate(body)


def test_account_create_is_strict() -> None:
    with pytest.raises(ValidationError):
        AccountCreate.model_validate({"email": "a@example.org", "handle": "abc", "password": "x" * 12, "admin": True})


@pytest.mark.parametrize(
    ("password", "weak"),
    [("password123", True), ("aaaaabbbbb", True), ("xx_ada99_xx!", True), ("adalovelace-rules", True), ("correct horse battery", False)],
)
def test_weak_passwords(password: str, weak: bool) -> None:
    assert (weak_password_reason(password, handle="ada99", email="adalovelace@example.org") is not None) is weak


def test_cursor_round_trips_and_is_bound_to_its_query() -> None:
    member = uuid.uuid4()
    cursor = encode_cursor(0.123456789012345, member, "ada")
    assert decode_cursor(cursor, "ada") == (0.123456789012345, member)
    with pytest.raises(BadRequest):
        decode_cursor(cursor, "grace")
    with pytest.raises(BadRequest):
        decode_cursor("bm90IGpzb24", "ada")
