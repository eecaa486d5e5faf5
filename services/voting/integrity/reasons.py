"""The machine-readable reason codes a decision can carry, and what each means in words.

Codes are stable API: moderators filter on them, the author summary groups by them, and the
evaluation reports per code. Add new codes; never rename one.
"""

from __future__ import annotations

SELF_VOTE = "self_vote"
BLOCKED_BY_AUTHOR = "blocked_by_author"
DELETED_MEMBER = "deleted_member"
NEW_ACCOUNT = "new_account"
UNVERIFIED_EMAIL = "unverified_email"
LOW_TRUST = "low_trust"
VELOCITY = "velocity"
SHARED_ORIGIN = "shared_origin"
SOLICITED_IN_NETWORK_BURST = "solicited_in_network_burst"
SOLICITED_MESSAGE = "solicited_message"
RECENTLY_CONNECTED = "recently_connected"
AFTER_INTRODUCTION = "after_introduction"
LOCKSTEP_RING = "lockstep_ring"
RECIPROCAL_RING = "reciprocal_ring"

DESCRIPTIONS: dict[str, str] = {
    SELF_VOTE: "the voter wrote the target",
    BLOCKED_BY_AUTHOR: "the target's author blocked the voter",
    DELETED_MEMBER: "the voter's account was deleted",
    NEW_ACCOUNT: "account younger than the probation period",
    UNVERIFIED_EMAIL: "the voter has not verified an email address",
    LOW_TRUST: "the profiles service rates the voter's trust level as new",
    VELOCITY: "votes faster than a person can read",
    SHARED_ORIGIN: "several accounts from one client address (and device) voted on this target",
    SOLICITED_IN_NETWORK_BURST: "part of a burst of votes from the author's own connections",
    SOLICITED_MESSAGE: "the voter was sent a message linking the target shortly before",
    RECENTLY_CONNECTED: "connected to the author shortly before voting (within a burst)",
    AFTER_INTRODUCTION: "introduced to the author shortly before voting (within a burst)",
    LOCKSTEP_RING: "member of a group that repeatedly votes together on the same targets",
    RECIPROCAL_RING: "the voter and the author repeatedly vote for each other's content",
}

# A few words each, for the author's summary ("40 votes, 9 not counted: in-network burst").
LABELS: dict[str, str] = {
    SELF_VOTE: "own votes",
    BLOCKED_BY_AUTHOR: "from blocked members",
    DELETED_MEMBER: "deleted accounts",
    NEW_ACCOUNT: "new accounts",
    UNVERIFIED_EMAIL: "unverified accounts",
    LOW_TRUST: "low-trust accounts",
    VELOCITY: "too fast to have read",
    SHARED_ORIGIN: "several accounts from one address",
    SOLICITED_IN_NETWORK_BURST: "in-network burst",
    SOLICITED_MESSAGE: "asked for by message",
    RECENTLY_CONNECTED: "just connected to you",
    AFTER_INTRODUCTION: "right after an introduction",
    LOCKSTEP_RING: "voting ring",
    RECIPROCAL_RING: "vote trading",
}

ALL: tuple[str, ...] = tuple(DESCRIPTIONS)

# Reasons that say someone manipulated votes (a finding for moderators, an alert for the author), as
# opposed to probation (new, unverified, low-trust accounts) and the hard rules (self, blocked, deleted).
MANIPULATION: frozenset[str] = frozenset({
    VELOCITY, SHARED_ORIGIN, SOLICITED_IN_NETWORK_BURST, SOLICITED_MESSAGE, RECENTLY_CONNECTED, AFTER_INTRODUCTION,
    LOCKSTEP_RING, RECIPROCAL_RING,
})
