"""How the gateway calls an upstream: a deadline per attempt, retries only where repeating is harmless,
and a circuit breaker so a dead upstream costs callers nothing but a fast 502.

    attempt ── ok ───────────────────────────────► upstream's response (its status and body kept)
       │
       ├── transport error / 502 / 503 / 504 ──┬─ idempotent (GET HEAD PUT DELETE OPTIONS) and tries left:
       │                                        │     sleep uniform(0, base·2^n) ("full jitter"), try again
       │                                        └─ otherwise: 502 upstream_unavailable / 504 upstream_timeout
       │                                           (or the upstream's own 5xx response, kept as it is)
    breaker: `failures` consecutive failures open it (a 503 with Retry-After is an upstream shedding load,
    not a failure); while open every call fails at once with 502
    `circuit_open` and Retry-After; after `reset_seconds` one probe is let through (half-open): success
    closes the circuit, failure opens it again.

POST and PATCH are never retried: the first attempt may have been applied even if its answer was lost.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})


class State(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Consecutive-failure breaker. Not thread-safe; one per upstream per event loop."""

    failures_to_open: int = 5
    reset_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _probe_in_flight: bool = field(default=False, repr=False)

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return State.CLOSED
        if self.clock() - self.opened_at >= self.reset_seconds:
            return State.HALF_OPEN
        return State.OPEN

    def retry_after(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_seconds - (self.clock() - self.opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state exactly one probe is let through at a time."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.OPEN or self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probe_in_flight = False

    def abandon(self) -> None:
        """A call was cancelled before it had an outcome (a view's deadline, a client gone): count
        nothing, but free the half-open probe slot — otherwise no probe could ever be let through again."""
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._probe_in_flight or self.failures >= self.failures_to_open:
            self.opened_at = self.clock()
        self._probe_in_flight = False


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    backoff_seconds: float = 0.05
    max_backoff_seconds: float = 1.0

    def attempts(self, method: str) -> int:
        return 1 + (self.retries if method.upper() in IDEMPOTENT else 0)

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(max, base·2^retry)), so retrying clients spread out instead of stampeding."""
        return rng() * min(self.max_backoff_seconds, self.backoff_seconds * (2**retry))

    async def pause(self, retry: int) -> None:
        await asyncio.sleep(self.delay(retry))
