"""Trust levels, derived from a member's signals: a pure rule, so it is the same in the API and the consumer.

    new      the default; also anyone whose email is not verified
    member   verified email, and either `member_age_days` of account age or `member_karma` karma
    trusted  verified email, `trusted_age_days` of age and `trusted_karma` karma

Negative karma never lifts anyone, and karma below zero keeps a member at `new` whatever their age.
The level is recomputed whenever a signal changes (email verified, karma from tallies) and when the member
signs in or refreshes a session (so age thresholds are crossed by active members without a sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

TrustLevel = Literal["new", "member", "trusted"]
LEVELS: tuple[TrustLevel, ...] = ("new", "member", "trusted")


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    member_age_days: float = 7.0
    member_karma: int = 10
    trusted_age_days: float = 30.0
    trusted_karma: int = 100

    @classmethod
    def from_settings(cls, settings: object) -> "TrustPolicy":
        return cls(
            member_age_days=settings.trust_member_age_days,  # type: ignore[attr-defined]
            member_karma=settings.trust_member_karma,  # type: ignore[attr-defined]
            trusted_age_days=settings.trust_trusted_age_days,  # type: ignore[attr-defined]
            trusted_karma=settings.trust_trusted_karma,  # type: ignore[attr-defined]
        )

    def level(self, *, email_verified: bool, karma: int, registered_at: datetime, now: datetime) -> TrustLevel:
        if not email_verified or karma < 0:
            return "new"
        age_days = (now - registered_at).total_seconds() / 86400
        if age_days >= self.trusted_age_days and karma >= self.trusted_karma:
            return "trusted"
        if age_days >= self.member_age_days or karma >= self.member_karma:
            return "member"
        return "new"
