"""What the vote decision pipeline reads and what it says.

Inputs are plain slotted dataclasses, cheap to build from a decoded JSON message (no validation here:
the consumer validates at the edge and dead-letters what does not fit). Times are epoch seconds
(float); ids are opaque strings (UUIDs in production, integers-as-strings in the data sets).

Inputs
    Vote             a member cast, changed (+1/-1) or cleared (0) a vote on a target
    Connection       two members got connected (or disconnected: removed=True), with provenance
    Block            a member blocked (or unblocked) another
    TrustSignal      what the profiles service knows about a member's standing
    Solicitation     a message linking a target was sent to recipients (no text, only the link)
    ContentAuthored  a target (post/comment) was published by an author

Outputs
    Decision   one per accepted vote: counted / reduced / not_counted, a weight in [0, 1], reason codes
    Revision   a later finding changed an earlier decision (a ring found after the fact)
    Tally      a target's raw and trusted score, as absolute numbers (idempotent to write)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

Outcome = Literal["counted", "reduced", "not_counted"]
Provenance = Literal["invitation", "introduction", "suggestion", "import"]
TrustLevel = Literal["new", "member", "trusted"]

COUNTED: Outcome = "counted"
REDUCED: Outcome = "reduced"
NOT_COUNTED: Outcome = "not_counted"
PROVENANCES: tuple[str, ...] = ("invitation", "introduction", "suggestion", "import")
TRUST_LEVELS: tuple[str, ...] = ("new", "member", "trusted")


def outcome_of(weight: float) -> Outcome:
    """The outcome a weight stands for: 1 counted, 0 not counted, anything between reduced."""
    if weight >= 1.0:
        return COUNTED
    if weight <= 0.0:
        return NOT_COUNTED
    return REDUCED


@dataclass(slots=True)
class Vote:
    vote_id: str
    voter: str
    target: str
    target_author: str | None
    value: int  # -1, 0 (clear) or +1
    at: float
    origin: str | None = None  # hash of the client address, from the gateway
    device: str | None = None  # hash of the user agent, from the gateway


@dataclass(slots=True)
class Connection:
    a: str
    b: str
    at: float
    provenance: str = "invitation"
    removed: bool = False


@dataclass(slots=True)
class Block:
    blocker: str
    blocked: str
    at: float
    removed: bool = False


@dataclass(slots=True)
class TrustSignal:
    member: str
    registered_at: float
    email_verified: bool = True
    trust_level: str = "member"
    deleted: bool = False
    at: float | None = None


@dataclass(slots=True)
class Solicitation:
    sender: str
    recipients: tuple[str, ...]
    target: str
    at: float


@dataclass(slots=True)
class ContentAuthored:
    target: str
    author: str
    at: float


ContextEvent = Connection | Block | TrustSignal | Solicitation | ContentAuthored
Event = Vote | ContextEvent


# Outputs are NamedTuples: cheaper to build than objects, and a tuple holding only strings and numbers
# is dropped from the garbage collector's lists at its first pass, so a batch of decisions never ages
# into the old generation (with millions of objects alive, full collections are what costs).


class Decision(NamedTuple):
    """How one vote was taken. `weight` multiplies the vote's value in the trusted score."""

    vote_id: str
    voter: str
    target: str
    value: int
    outcome: str
    weight: float
    reasons: tuple[str, ...]
    at: float = 0.0
    previous_value: int = 0  # the member's standing value before this vote (0 = none)


class Revision(NamedTuple):
    """A standing vote's decision changed after the fact; the tally of `target` changed with it."""

    vote_id: str
    voter: str
    target: str
    value: int
    outcome: str
    weight: float
    reasons: tuple[str, ...]
    previous_outcome: str
    previous_weight: float
    at: float  # when the finding was made (event time), not when the vote was cast


class Tally(NamedTuple):
    """A target's scores over standing votes (one per member). `trusted` = Σ value × weight."""

    target: str
    raw: int
    trusted: float
    ups: int
    downs: int
    reduced: int  # standing votes counted with reduced weight
    not_counted: int  # standing votes with weight 0
