"""The tally consumer's view of `voting.context_log`: what its checks know besides votes.

    events consumer ──appends──▶ voting.context_log (txid, seq, kind, data)
    tally consumer  ──reads (txid, seq) order──▶ IntegrityContext (+ late solicitation revisions)

Every tally replica reads the whole log at start-up and, before each batch, what was committed since
(one indexed query that usually returns nothing). Order is commit order without gaps: rows are read
by (txid, seq) and only from transactions older than the reader's snapshot xmin, which have all ended,
so no row can later appear behind the position already read (a plain `seq > last` would skip a row
whose transaction took its seq earlier but committed later).

Context is "what we know now": a vote decided before its context arrived keeps its decision, except
that a link to the target sent by its author to the voter shortly before the vote revises the vote
when the solicitation arrives late (VotePipeline.revise_solicitation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson

from services.voting.integrity import Block, Connection, Solicitation, TrustSignal, VotePipeline

log = logging.getLogger("agora.voting.context")

_READ = """
SELECT txid::text, seq, kind, data::text FROM {s}.context_log
WHERE (txid, seq) > ($1::text::xid8, $2) AND txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY txid, seq LIMIT $3
"""


def context_event(kind: str, d: dict[str, Any]) -> Connection | Block | TrustSignal | Solicitation | None:
    """A log row as the pipeline's context event (None for kinds this version does not know)."""
    if kind == "connection":
        return Connection(d["a"], d["b"], float(d["at"]), d.get("provenance", "invitation"), bool(d.get("removed", False)))
    if kind == "block":
        return Block(d["blocker"], d["blocked"], float(d["at"]), bool(d.get("removed", False)))
    if kind == "trust":
        registered = d.get("registered_at")
        return TrustSignal(d["member"], float(registered) if registered is not None else 0.0, bool(d["email_verified"]),
                           d["trust_level"], bool(d["deleted"]))
    if kind == "solicitation":
        return Solicitation(d["sender"], tuple(d["recipients"]), d["target"], float(d["at"]))
    return None


class ContextFeed:
    """Position in the log, and the reads that move it."""

    def __init__(self, schema: str, page: int = 10_000) -> None:
        self.s = schema
        self.page = page
        self.position: tuple[str, int] = ("0", 0)  # (txid, seq) of the last row applied
        self.applied = 0

    async def catch_up(self, pool: asyncpg.Pool, pipeline: VotePipeline, author_of: Callable[[str], str | None]) -> int:
        """Apply every row committed since the last read; returns how many."""
        n = 0
        while True:
            rows = await pool.fetch(_READ.format(s=self.s), self.position[0], self.position[1], self.page)
            for txid, seq, kind, data in rows:
                event = context_event(kind, orjson.loads(data))
                if event is None:
                    log.warning("context_log row %s has unknown kind %r; skipped", seq, kind)
                    continue
                pipeline.apply_context(event)
                if type(event) is Solicitation:
                    pipeline.revise_solicitation(event, author_of(event.target))
            n += len(rows)
            if rows:
                self.position = (rows[-1][0], rows[-1][1])
            if len(rows) < self.page:
                break
        self.applied += n
        return n
