"""One target's state in the pipeline: its standing votes, tally counters and short windows.

Kept apart from the pipeline so the ring detector can read standing votes without importing the
pipeline. A standing vote is a tuple `(value, weight, vote_id, at, reasons)`; a clear stays as a
tombstone with value 0 so that a late redelivery of an older vote cannot bring it back.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

StandingVote = tuple[int, float, str, float, tuple[str, ...]]


class TargetState:
    __slots__ = (
        "partition", "votes", "raw", "trusted", "ups", "downs", "reduced", "not_counted",
        "recent", "origins", "innet", "innet_units", "burst_until", "solicited", "last_at",
    )

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.votes: dict[str, StandingVote] = {}  # voter -> standing vote
        self.raw = 0
        self.trusted = 0.0
        self.ups = 0
        self.downs = 0
        self.reduced = 0  # standing votes with 0 < weight < 1
        self.not_counted = 0  # standing votes with weight 0
        self.recent: list[tuple[float, str, int]] = []  # (at, voter, value) while the target is cold
        self.origins: dict[str, tuple[str, str | None, float]] | None = None  # address -> first (voter, device, at)
        # in-network votes in the burst window: (at, voter, units, extra reason, standing votes before it)
        self.innet: deque[tuple[float, str, int, str | None, int]] | None = None
        self.innet_units = 0  # sum of units in `innet`
        self.burst_until = -math.inf
        self.solicited: dict[str, list[tuple[float, str]]] | None = None  # sender -> [(at, recipient)]
        self.last_at = -math.inf

    def count(self, value: int, weight: float, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) one standing vote's contribution to the counters."""
        if not value:
            return
        self.raw += sign * value
        self.trusted += sign * value * weight
        if value > 0:
            self.ups += sign
        else:
            self.downs += sign
        if weight <= 0.0:
            self.not_counted += sign
        elif weight < 1.0:
            self.reduced += sign

    def dump(self) -> list[Any]:
        return [
            self.partition,
            {voter: [r[0], r[1], r[2], r[3], list(r[4])] for voter, r in self.votes.items()},
            [self.raw, self.trusted, self.ups, self.downs, self.reduced, self.not_counted],
            [list(e) for e in self.recent],
            None if self.origins is None else {o: list(e) for o, e in self.origins.items()},
            None if self.innet is None else [list(e) for e in self.innet],
            self.innet_units,
            None if self.burst_until == -math.inf else self.burst_until,
            None if self.solicited is None else {s: [list(e) for e in lst] for s, lst in self.solicited.items()},
            None if self.last_at == -math.inf else self.last_at,
        ]

    @classmethod
    def load(cls, data: list[Any]) -> TargetState:
        partition, votes, tally, recent, origins, innet, innet_units, burst_until, solicited, last_at = data
        tb = cls(partition)
        tb.votes = {voter: (r[0], r[1], r[2], r[3], tuple(r[4])) for voter, r in votes.items()}
        tb.raw, tb.trusted, tb.ups, tb.downs, tb.reduced, tb.not_counted = tally
        tb.recent = [(e[0], e[1], e[2]) for e in recent]
        tb.origins = None if origins is None else {o: (e[0], e[1], e[2]) for o, e in origins.items()}
        tb.innet = None if innet is None else deque((e[0], e[1], e[2], e[3], e[4]) for e in innet)
        tb.innet_units = innet_units
        tb.burst_until = -math.inf if burst_until is None else burst_until
        tb.solicited = None if solicited is None else {s: [(e[0], e[1]) for e in lst] for s, lst in solicited.items()}
        tb.last_at = -math.inf if last_at is None else last_at
        return tb
