"""Rate limits on writes (votes, invitations, posts and comments, logins, registrations), per member and
per client address, as token buckets held in this process's memory.

Semantics with several replicas (the gateway has no database, by design): each replica enforces
`limit / replicas` (settings.replicas), with the bucket's burst scaled the same way. Whatever way a load
balancer spreads a client's requests, the fleet can never admit more than the configured limit; a client
whose requests all land on one replica (one keep-alive connection) is limited at 1/replicas of it. That
errs towards refusing early, never towards letting abuse through, and costs no shared store on the hot
path. docs/gateway.md explains the choice and what would replace it.

Refusals are 429 `rate_limited` in the common error shape with Retry-After (whole seconds, rounded up)
and `detail` naming the limit and whether the member's or the address's bucket ran dry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from services.kit.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    per_member: Rate | None
    per_address: Rate | None


MINUTE, HOUR = 60.0, 3600.0

# (method, resource) -> limit. Anonymous writes are limited per address only.
WRITE_LIMITS: dict[tuple[str, str], Limit] = {
    ("POST", "votes"): Limit("votes", Rate(120, MINUTE), Rate(600, MINUTE)),
    ("POST", "invitations"): Limit("invitations", Rate(50, HOUR), Rate(200, HOUR)),
    ("POST", "introductions"): Limit("introductions", Rate(30, HOUR), Rate(120, HOUR)),
    ("POST", "posts"): Limit("posts", Rate(30, MINUTE), Rate(120, MINUTE)),  # posts and comments (/v1/posts/{id}/comments)
    ("POST", "comments"): Limit("comments", Rate(30, MINUTE), Rate(120, MINUTE)),
    ("POST", "sessions"): Limit("logins", None, Rate(30, MINUTE)),
    ("POST", "accounts"): Limit("registrations", None, Rate(30, HOUR)),
}


class TokenBuckets:
    """Buckets keyed by (limit, scope, who); each refills continuously at count/seconds, up to count."""

    def __init__(self, *, replicas: int = 1, scale: float = 1.0, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.share = scale / replicas  # this replica's share of each limit
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}  # key -> (tokens, at)

    def _level(self, key: tuple[str, str, str], rate: Rate) -> tuple[float, float, float]:
        """(tokens now, now, refill per second) of a bucket; a new bucket starts full."""
        capacity = max(1.0, rate.count * self.share)
        per_second = rate.count * self.share / rate.seconds
        now = self.clock()
        tokens, at = self._buckets.get(key, (capacity, now))
        return min(capacity, tokens + (now - at) * per_second), now, per_second

    def wait(self, key: tuple[str, str, str], rate: Rate) -> float:
        """Seconds until the bucket has a token (0.0: it has one now)."""
        tokens, _, per_second = self._level(key, rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / per_second

    def take(self, key: tuple[str, str, str], rate: Rate) -> None:
        tokens, now, _ = self._level(key, rate)
        self._buckets.pop(key, None)  # re-inserted last: the dict's order is least recently used first
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.pop(next(iter(self._buckets)))  # memory stays bounded under a flood of keys

    def check(self, limit: Limit, *, member: str | None, address: str) -> None:
        """Raise TooManyRequests if either bucket is empty. Both are charged only when both grant."""
        scopes = []
        if limit.per_member is not None and member is not None:
            scopes.append(("member", member, limit.per_member))
        if limit.per_address is not None:
            scopes.append(("address", address, limit.per_address))
        for scope, who, rate in scopes:
            key = (limit.name, scope, who)
            wait = self.wait(key, rate)
            if wait > 0:
                raise TooManyRequests(
                    f"too many {limit.name} from this {scope}; retry after the time in Retry-After",
                    retry_after=wait, detail={"limit": limit.name, "scope": scope},
                )
        for scope, who, rate in scopes:
            self.take((limit.name, scope, who), rate)


def limit_for(method: str, resource: str) -> Limit | None:
    """The limit of a write to /v1/{resource}/... (sub-resources share it: /v1/posts/{id}/comments counts as posts), or None."""
    return WRITE_LIMITS.get((method.upper(), resource))
