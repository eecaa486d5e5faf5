"""The ranking formulas, as pure functions. The database stores their values; tests recompute them.

    hot            Reddit's: log10 of the net score plus the post's age bonus (45,000 s ≈ 12.5 h per 10×)
    best           Wilson score interval lower bound of the up-vote share (z = 1.281551565545, 80 %)
    controversial  Reddit's: many votes, evenly split -> (ups + downs) ** (minority / majority)
    top            the score (the trusted score when voting publishes one) within a time window
    rising         score / (age in hours + 2) ** 1.8 among posts of the last 24 h, at a fixed instant
    new            creation time

Two also live in SQL, where they must run: `content.hot_rank()` (migration 0002) applies a tally in one
statement, and `rising` is computed inside feed queries (repository.post_key). The integration tests
check the values the API returns against their own computation of each formula.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

EPOCH_OFFSET = 1134028003  # Reddit's: 2005-12-08 07:46:43 UTC
HOT_DIVISOR = 45000
WILSON_Z = 1.281551565545
RISING_GRAVITY = 1.8
RISING_WINDOW = timedelta(hours=24)

WINDOWS: dict[str, timedelta | None] = {
    "hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1),
    "month": timedelta(days=30), "year": timedelta(days=365), "all": None,
}


def hot(score: int, created_at: datetime) -> float:
    order = math.log10(max(abs(score), 1))
    sign = 1 if score > 0 else -1 if score < 0 else 0
    seconds = created_at.timestamp() - EPOCH_OFFSET
    return round(sign * order + seconds / HOT_DIVISOR, 7)


def best(ups: int, downs: int) -> float:
    n = ups + downs
    if n <= 0:
        return 0.0
    z2 = WILSON_Z * WILSON_Z
    phat = ups / n
    return (phat + z2 / (2 * n) - WILSON_Z * math.sqrt((phat * (1 - phat) + z2 / (4 * n)) / n)) / (1 + z2 / n)


def controversial(ups: int, downs: int) -> float:
    if ups <= 0 or downs <= 0:
        return 0.0
    balance = downs / ups if ups > downs else ups / downs
    return float((ups + downs) ** balance)


def rising(score: int, created_at: datetime, at: datetime) -> float:
    hours = max((at - created_at).total_seconds(), 0.0) / 3600
    return score / (hours + 2) ** RISING_GRAVITY


def window_start(window: str, at: datetime) -> datetime:
    span = WINDOWS[window]
    return datetime(1970, 1, 1, tzinfo=UTC) if span is None else at - span
