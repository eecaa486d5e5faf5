"""The tally consumer's view of `voting.context_log`: what its checks know besides votes.

    events consumer ──appends (one at a time)──▶ voting.context_log (seq, kind, key, data)
    tally consumer  ──reads seq order──▶ IntegrityContext (+ late solicitation revisions)

Every tally replica reads the whole log at start-up and, before each batch, what was committed since
(one indexed query that usually returns nothing). Order is commit order without gaps: appenders take a
transaction-level advisory lock (CONTEXT_LOG_LOCK) before inserting, so seqs commit in order and a
reader that read up to seq N never later finds a row below N (without it, a transaction that took its
seq earlier but committed later would be skipped).

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

CONTEXT_LOG_LOCK = 7_405_101  # pg_advisory_xact_lock key of the appenders (any constant, unique in the database)

_READ = "SELECT seq, kind, data::text FROM {s}.context_log WHERE seq > $1 ORDER BY seq LIMIT $2"


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


# Rows a later row of the same key supersedes, and solicitations past any window that reads them.
_COMPACT = """
WITH gone AS (
    DELETE FROM {s}.context_log c
    WHERE (c.key IS NOT NULL AND EXISTS (
              SELECT 1 FROM {s}.context_log d WHERE d.kind = c.kind AND d.key = c.key AND d.seq > c.seq))
       OR (c.key IS NULL AND c.recorded_at < now() - make_interval(secs => $1))
    RETURNING 1
)
SELECT count(*) FROM gone
"""


async def compact(pool: asyncpg.Pool, schema: str, keep_seconds: float) -> int:
    """Delete superseded context rows and solicitations older than `keep_seconds`; returns how many.
    Safe while readers run: a reader that had not reached a deleted row gets the same state from the
    later row of its key (every keyed row is the whole latest state)."""
    return int(await pool.fetchval(_COMPACT.format(s=schema), keep_seconds))


class ContextFeed:
    """Position in the log, and the reads that move it."""

    def __init__(self, schema: str, page: int = 10_000) -> None:
        self.s = schema
        self.page = page
        self.position = 0  # seq of the last row applied
        self.applied = 0

    async def catch_up(self, pool: asyncpg.Pool, pipeline: VotePipeline, author_of: Callable[[str], str | None]) -> int:
        """Apply every row committed since the last read; returns how many."""
        n = 0
        while True:
            rows = await pool.fetch(_READ.format(s=self.s), self.position, self.page)
            for seq, kind, data in rows:
                event = context_event(kind, orjson.loads(data))
                if event is None:
                    log.warning("context_log row %s has unknown kind %r; skipped", seq, kind)
                    continue
                pipeline.apply_context(event)
                if type(event) is Solicitation:
                    pipeline.revise_solicitation(event, author_of(event.target))
            n += len(rows)
            if rows:
                self.position = rows[-1][0]
            if len(rows) < self.page:
                break
        self.applied += n
        return n
