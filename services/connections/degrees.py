"""Degrees of separation: 1st, 2nd, 3rd or beyond, the mutual connections and one shortest path.

A bounded bidirectional search that meets in the middle, so it never expands further than one hop
from either end:
  - the neighbours of both ends (one query) answer degree 1, degree 2 and the mutual connections;
  - one "bridge" query — any edge from N(a) to N(b) — answers degree 3;
  - nothing beyond 3 is searched: the answer is "beyond".
The search asks the graph only these two questions (`GraphReader`), so it runs unchanged on the
adjacency table and on a dict in the unit tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

MAX_DEGREE = 3


class GraphReader(Protocol):
    async def neighbour_sets(self, a: uuid.UUID, b: uuid.UUID) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        """N(a), N(b)."""
        ...

    async def bridge(self, left: set[uuid.UUID], right: set[uuid.UUID]) -> tuple[uuid.UUID, uuid.UUID] | None:
        """Some edge (x, y) with x in left and y in right, or None."""
        ...


@dataclass(frozen=True)
class Separation:
    degree: int | None  # 0 = the same member, 1..3, None = beyond 3
    mutuals: set[uuid.UUID] = field(default_factory=set)
    path: list[uuid.UUID] | None = None  # a shortest path from a to b, both ends included


async def separation(graph: GraphReader, a: uuid.UUID, b: uuid.UUID, *, hidden: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset()) -> Separation:
    """How a is connected to b. Members in `hidden` (blocked either way by a) are never on a path."""
    if a == b:
        return Separation(0, set(), [a])
    na, nb = await graph.neighbour_sets(a, b)
    na -= hidden
    nb -= hidden
    mutuals = na & nb
    if b in na:
        return Separation(1, mutuals, [a, b])
    if mutuals:
        return Separation(2, mutuals, [a, min(mutuals), b])
    if not na or not nb:
        return Separation(None)
    # Probe from the smaller side: the query touches only the smaller set's adjacency lists.
    if len(na) <= len(nb):
        hop = await graph.bridge(na, nb)
        if hop:
            return Separation(3, set(), [a, hop[0], hop[1], b])
    else:
        hop = await graph.bridge(nb, na)
        if hop:
            return Separation(3, set(), [a, hop[1], hop[0], b])
    return Separation(None)

