"""What the pipeline knows about members and content besides votes: the context its checks read.

Fed by context events (connections with provenance and time, blocks, trust signals, message
solicitations, authorship). One context serves every partition a consumer owns: it is keyed by member,
not by target, and is rebuilt from the context topics or restored from its own snapshot.

Memory: members whose standing is plain (verified, not new, not deleted, out of probation) are not
stored; solicitations expire after their window (see `sweep`). Connections and
the target -> author fallback grow with the network and the content themselves.
"""

from __future__ import annotations

from typing import Any

from services.voting.integrity.config import IntegrityConfig
from services.voting.integrity.events import Block, Connection, ContentAuthored, Solicitation, TrustSignal


def decode_edge(edge: float) -> tuple[float, bool]:
    """An adjacency value as (connected_at, made by introduction)."""
    return (-edge, True) if edge < 0 else (edge, False)


class IntegrityContext:
    __slots__ = ("config", "adjacency", "blocked_by", "standing", "solicited", "target_authors")

    def __init__(self, config: IntegrityConfig | None = None) -> None:
        self.config = config or IntegrityConfig()
        # member -> {neighbour: connected_at}; both directions stored. A connection made by introduction
        # is stored as -connected_at (the only provenance a decision reads). Plain floats keep the
        # inner dicts out of the garbage collector's way: with millions of edges that matters.
        self.adjacency: dict[str, dict[str, float]] = {}
        # author -> {blocked member: blocked_at}; a dict keeps iteration order deterministic.
        self.blocked_by: dict[str, dict[str, float]] = {}
        # member -> (registered_at, email_verified, trust_level, deleted); only members that may be discounted.
        self.standing: dict[str, tuple[float, bool, str, bool]] = {}
        # recipient -> {target: (sent_at, sender)}: the latest message linking that target.
        self.solicited: dict[str, dict[str, tuple[float, str]]] = {}
        # target -> (author, published_at), for votes that arrive without `target_author`. Not expired:
        # it grows with content (production votes carry the author; this is the fallback).
        self.target_authors: dict[str, tuple[str, float]] = {}

    # -- applying context events -------------------------------------------------------------------

    def apply(self, event: Connection | Block | TrustSignal | Solicitation | ContentAuthored, now: float) -> None:
        if isinstance(event, Connection):
            self.connect(event)
        elif isinstance(event, Block):
            self.block(event)
        elif isinstance(event, TrustSignal):
            self.trust(event, now)
        elif isinstance(event, Solicitation):
            self.solicit(event)
        elif isinstance(event, ContentAuthored):
            self.target_authors[event.target] = (event.author, event.at)
        else:  # pragma: no cover - the consumer routes only these types here
            raise TypeError(f"not a context event: {type(event).__name__}")

    def connect(self, c: Connection) -> None:
        if c.a == c.b:
            return
        adj = self.adjacency
        if c.removed:
            for x, y in ((c.a, c.b), (c.b, c.a)):
                nb = adj.get(x)
                if nb is not None:
                    nb.pop(y, None)
                    if not nb:
                        del adj[x]
            return
        edge = -c.at if c.provenance == "introduction" else c.at
        adj.setdefault(c.a, {})[c.b] = edge
        adj.setdefault(c.b, {})[c.a] = edge

    def block(self, b: Block) -> None:
        if b.removed:
            blocked = self.blocked_by.get(b.blocker)
            if blocked is not None:
                blocked.pop(b.blocked, None)
                if not blocked:
                    del self.blocked_by[b.blocker]
        else:
            self.blocked_by.setdefault(b.blocker, {})[b.blocked] = b.at

    def trust(self, s: TrustSignal, now: float) -> None:
        record = (s.registered_at, bool(s.email_verified), s.trust_level, bool(s.deleted))
        if self._plain(record, now):
            self.standing.pop(s.member, None)
        else:
            self.standing[s.member] = record

    def solicit(self, s: Solicitation) -> None:
        entry = (s.at, s.sender)
        for r in s.recipients:
            if r != s.sender:
                self.solicited.setdefault(r, {})[s.target] = entry

    def connected(self, a: str, b: str) -> bool:
        nb = self.adjacency.get(a)
        return nb is not None and b in nb

    def connection(self, a: str, b: str) -> tuple[float, bool] | None:
        """(connected_at, by_introduction) of the connection between a and b, if any."""
        nb = self.adjacency.get(a)
        edge = nb.get(b) if nb is not None else None
        return None if edge is None else decode_edge(edge)

    # -- memory ------------------------------------------------------------------------------------

    def _plain(self, record: tuple[float, bool, str, bool], now: float) -> bool:
        registered_at, verified, level, deleted = record
        return verified and level != "new" and not deleted and registered_at + self.config.new_account_seconds <= now

    def sweep(self, now: float) -> None:
        """Forget what can no longer change a decision: expired probation and solicitations (every read
        of these checks the time itself)."""
        cfg = self.config
        for m in [m for m, r in self.standing.items() if self._plain(r, now)]:
            del self.standing[m]
        cutoff = now - cfg.solicitation_window
        for r in list(self.solicited):
            targets = self.solicited[r]
            for t in [t for t, (at, _) in targets.items() if at < cutoff]:
                del targets[t]
            if not targets:
                del self.solicited[r]

    # -- snapshot ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Plain lists/dicts (JSON-ready). Each edge is written once, in insertion order."""
        edges: list[list[Any]] = []
        seen: set[tuple[str, str]] = set()
        for a, nb in self.adjacency.items():
            for b, edge in nb.items():
                if (b, a) not in seen:
                    seen.add((a, b))
                    edges.append([a, b, edge])
        return {
            "edges": edges,
            "blocked_by": {a: dict(d) for a, d in self.blocked_by.items()},
            "standing": {m: list(r) for m, r in self.standing.items()},
            "solicited": {r: {t: list(v) for t, v in d.items()} for r, d in self.solicited.items()},
            "target_authors": {t: list(v) for t, v in self.target_authors.items()},
        }

    @classmethod
    def restore(cls, data: dict[str, Any], config: IntegrityConfig | None = None) -> IntegrityContext:
        ctx = cls(config)
        for a, b, edge in data["edges"]:
            ctx.adjacency.setdefault(a, {})[b] = edge
            ctx.adjacency.setdefault(b, {})[a] = edge
        ctx.blocked_by = {a: dict(d) for a, d in data["blocked_by"].items()}
        ctx.standing = {m: (r[0], r[1], r[2], r[3]) for m, r in data["standing"].items()}
        ctx.solicited = {r: {t: (v[0], v[1]) for t, v in d.items()} for r, d in data["solicited"].items()}
        ctx.target_authors = {t: (v[0], v[1]) for t, v in data["target_authors"].items()}
        return ctx
