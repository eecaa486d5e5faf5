"""The tally consumer: `agora consume voting tally`, a dedicated high-volume process, effectively once.

    agora.votes ──getmany()──▶ decode + validate ──▶ VotePipeline (per-partition targets in memory)
        ──▶ one PostgreSQL transaction per batch: fence + ballots + tallies + tally.updated outbox rows + offsets

Contract
- Votes are keyed and partitioned by target id, so a partition owns its targets: the consumer keeps
  their standing votes in memory (inside the decision pipeline, `services/voting/integrity`), paging a
  target in from `voting.ballots` the first time a batch touches it. One vote per member per target:
  a newer vote (by cast_at, then vote_id) replaces the standing one, a repeat and an older or
  redelivered vote change nothing. There is no per-event inbox: the standing vote's (cast_at, vote_id)
  is the de-duplication key, so a whole batch produced again changes nothing.
- Per batch, ONE transaction writes the changed ballots (with their decision: weight and reasons), the
  absolute tallies of touched targets (raw and trusted score), one `tally.updated` outbox row per
  touched target (aggregated per batch, not per vote), the integrity findings of the batch
  (services/voting/findings.py: `vote.outcome_revised`, `manipulation.suspected`, `voting.findings`) and
  the next offset of every partition. Bulk statements only (`INSERT … SELECT FROM unnest`, COPY): no
  per-vote round trip.
- Context: before each batch the consumer applies what `voting.context_log` gained (connections,
  blocks, trust signals, solicitations; services/voting/context_feed.py), all of it at start-up.
- Offsets live in `voting.consumer_offsets`; on assignment the consumer seeks to them (Kafka's committed
  offsets are written after the database commit, for lag monitoring only). The batch transaction starts
  with a *fence*: every owned partition's stored offset must still be the one this process last wrote
  or loaded, else another consumer has moved it (a zombie after a rebalance) and the batch is thrown
  away with the in-memory state, which is rebuilt from the database.
- The batch transactions commit with `synchronous_commit = off` (no wait for the WAL flush; measured
  ~2-4 ms per commit on a quiet box, far more under I/O load). Effectively-once still holds: the offsets
  commit with the effects, so a PostgreSQL crash loses a tail of whole batches, offsets included, and
  those votes are consumed again (the next batch's fence fails on the older offsets; state is rebuilt).
  The cost: for ~0.6 s a reader (or the relay, publishing tally.updated) may see a batch the crash then
  loses; re-consuming writes the same ballots, ups, downs and version again. See run().
- Poison messages (not a CloudEvent, not JSON, wrong schema, value outside −1/0/1) go to
  agora.deadletter with `dlq_reason`, `dlq_consumer`, `dlq_origin`; the consumer goes on.
- SIGTERM: the batch in flight finishes and commits, then the process exits.
- Fault hooks for the crash tests: AGORA_FAULT_TALLY_KILL=mid_batch|after_commit SIGKILLs the process
  inside the batch transaction (after the writes, before COMMIT) or after COMMIT (before the Kafka
  commit), on the AGORA_FAULT_TALLY_KILL_AT_BATCH-th batch (default 1).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.catalog import DEADLETTER, VOTES
from services.kit.consumer import send_deadletters
from services.kit.kafka import make_consumer, make_producer
from services.kit.topics import Topic
from services.voting.config import SCHEMA
from services.voting.context_feed import ContextFeed, compact
from services.voting.events import TALLY_UPDATED, VOTE_CAST
from services.voting.integrity import Decision, IntegrityConfig, IntegrityContext, Vote, VotePipeline
from services.voting.findings import INSERT_FINDINGS, INSERT_OUTBOX, FindingsCollector, IntegrityRows
from services.voting.integrity.events import outcome_of

log = logging.getLogger("agora.voting.tally")

NAME = "voting.tally"  # consumer group (prefixed) and the key of its rows in voting.consumer_offsets
SOURCE = "agora/voting"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # canonical (lower case) text form
_UUIDS4 = re.compile(r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}){4}")
_VOTE_TYPE = VOTE_CAST.type.encode()
_VALUES = (-1, 0, 1)
_intern = sys.intern  # one string per member, however many standing votes reference it


class Poison(ValueError):
    """A message that can never be applied; its text is the dead-letter reason."""


class Fenced(RuntimeError):
    """Another consumer moved one of our partitions' stored offsets: our in-memory state is stale."""


def decode_vote(headers: Iterable[tuple[str, bytes]] | None, value: bytes | None) -> tuple[Vote, str] | None:
    """A `vote.cast` message as (pipeline Vote, target kind); None for other event types (tolerant
    reader). Raises Poison with the reason for anything that is not a valid vote.cast CloudEvent."""
    h = dict(headers) if headers else {}
    spec = h.get("ce_specversion")
    ce_id = h.get("ce_id")
    ce_type = h.get("ce_type")
    ctype = h.get("content-type")
    if spec is None:
        raise Poison("malformed: missing header ce_specversion")
    if spec != b"1.0":
        raise Poison(f"malformed: unsupported specversion {spec!r}")
    if not ce_id:
        raise Poison("malformed: missing header ce_id")
    if not ce_type:
        raise Poison("malformed: missing header ce_type")
    if ce_type != _VOTE_TYPE:
        return None
    if ctype is not None and ctype.split(b";")[0].strip() != b"application/json":
        raise Poison(f"malformed: unsupported content-type {ctype!r}")
    try:
        d = orjson.loads(value) if value else None
    except orjson.JSONDecodeError as exc:
        raise Poison(f"malformed: data is not JSON: {exc}") from None
    if type(d) is not dict:
        raise Poison("malformed: data must be a JSON object")
    try:
        vote_id = d["vote_id"]
        voter = d["voter_id"]
        target = d["target_id"]
        author = d["author_id"]
        kind = d["target_kind"]
        val = d["value"]
        cast_at = d["cast_at"]
    except KeyError as exc:
        raise Poison(f"rejected by {NAME}: vote.cast without {exc.args[0]}") from None
    if type(val) is not int or val not in _VALUES:
        raise Poison(f"rejected by {NAME}: value must be -1, 0 or 1, not {val!r}")
    # One regex call for the four ids (the common case); the field-by-field check only names the culprit.
    if not (type(vote_id) is str and type(voter) is str and type(target) is str and type(author) is str
            and _UUIDS4.fullmatch(vote_id + voter + target + author)):
        for name, x in (("vote_id", vote_id), ("voter_id", voter), ("target_id", target), ("author_id", author)):
            if type(x) is not str or not _UUID.fullmatch(x):
                raise Poison(f"rejected by {NAME}: {name} is not a UUID: {x!r}")
    if type(kind) is not str or not 0 < len(kind) <= 32:
        raise Poison(f"rejected by {NAME}: bad target_kind {kind!r}")
    try:
        when = datetime.fromisoformat(cast_at)
    except (TypeError, ValueError):
        raise Poison(f"rejected by {NAME}: bad cast_at {cast_at!r}") from None
    if when.tzinfo is None:
        raise Poison(f"rejected by {NAME}: cast_at {cast_at!r} has no time zone")
    origin = d.get("origin")
    device = d.get("device")
    vote = Vote(
        vote_id, _intern(voter), target, author, val, when.timestamp(),
        origin if type(origin) is str else None, device if type(device) is str else None,
    )
    return vote, kind


@dataclass(slots=True)
class Batch:
    """One getmany() result, decoded."""

    votes: dict[int, list[Vote]] = field(default_factory=dict)  # partition -> votes in offset order
    seen: dict[str, int] = field(default_factory=dict)  # target -> partition, for every target voted on
    dead: list[tuple[Any, str]] = field(default_factory=list)  # (message, reason)
    positions: dict[int, int] = field(default_factory=dict)  # partition -> next offset after this batch
    messages: int = 0


@dataclass(slots=True)
class Prepared:
    """A decided batch, ready to be written in one transaction."""

    batch: Batch
    fence: tuple[list[int], list[int | None], list[int]]  # partitions, expected stored offsets, new offsets
    ballots: tuple[list[tuple[Any, ...]], list[list[Any]]]  # new ballots (COPY records), existing (upsert columns)
    tallies: list[Any] | None  # parameters of _UPSERT_TALLIES
    integrity: IntegrityRows | None = None  # findings + vote.outcome_revised / manipulation.suspected outbox rows


GC_EVERY = 3600.0  # seconds between two passes of the cyclic garbage collector (see tune_gc)


def tune_gc(automatic: bool = False) -> Callable[[], None]:
    """This process allocates a few dozen small objects per vote and keeps millions alive (standing
    votes and the detectors' windows). The cyclic collector kept rescanning them: with the default
    thresholds ~3x slower; with raised ones (200,000 / 50 / 1,000) its young passes still cost ~100 ms
    each, ~2-3 µs per vote (~10% of the process's CPU), and found nothing — over 600,000 votes of the
    bench they collected 0 objects: the hot path's garbage is acyclic (tuples, dicts, slotted objects,
    freed by reference counting). Passes over only the survivors since the previous one (then frozen)
    cost the same (0.5 s every 10 s). So automatic collection is off: what start-up allocated is frozen,
    and `collect_garbage()` runs one pass every GC_EVERY seconds for the rare cycles (an exception's
    traceback, rebalance bookkeeping). That pass scans the whole state: ~1.5 s with a million standing
    votes (bench/voting_tally.py prints it), once an hour, well inside the Kafka session timeout.
    `automatic=True` keeps the previous setting (raised thresholds), for the bench's comparison.
    Returns what undoes it (run() calls it on the way out: tests run consumers inside their process)."""
    was_enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.collect()
    gc.freeze()
    if automatic:
        gc.set_threshold(200_000, 50, 1000)
    else:
        gc.disable()

    def restore() -> None:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if was_enabled:
            gc.enable()

    return restore


def collect_garbage() -> float:
    """One pass of the cyclic collector over everything but what start-up froze; returns its pause in
    seconds (the event loop waits)."""
    t0 = time.perf_counter()
    gc.collect()
    return time.perf_counter() - t0


_BALLOT_COLUMNS = ["target_id", "voter_id", "value", "vote_id", "cast_at", "weight", "reasons"]


def _columns(records: list[tuple[Any, ...]]) -> list[list[Any]]:
    """COPY records of new ballots as the columns of _UPSERT_BALLOTS."""
    cols: list[list[Any]] = [list(c) for c in zip(*records, strict=True)]
    cols[6] = [",".join(r) if r else "" for r in cols[6]]
    return cols


# Changed standing votes with their decisions; the batch never holds two rows of one (target, voter).
_UPSERT_BALLOTS = """
INSERT INTO {s}.ballots AS b (target_id, voter_id, value, vote_id, cast_at, weight, reasons)
SELECT x.t, x.v, x.val, x.id, x.at, x.w, string_to_array(NULLIF(x.r, ''), ',')
FROM unnest($1::uuid[], $2::uuid[], $3::int2[], $4::uuid[], $5::timestamptz[], $6::float8[], $7::text[]) AS x(t, v, val, id, at, w, r)
ON CONFLICT (target_id, voter_id) DO UPDATE
SET value = excluded.value, vote_id = excluded.vote_id, cast_at = excluded.cast_at, weight = excluded.weight, reasons = excluded.reasons
"""

# Absolute tallies (rebuilt from standing votes, so writing them twice is harmless); version grows per batch.
# The same statement writes one tally.updated per target into the outbox, built by the server from the
# upserted row (the headers are the ones kit.outbox writes: the relay cannot tell the difference).
_UPSERT_TALLIES = """
WITH up AS (
    INSERT INTO {s}.tallies AS t (target_id, ups, downs, trusted_score, reduced, not_counted, version, updated_at)
    SELECT x.t, x.u, x.d, x.tr, x.r, x.n, 1, now()
    FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::float8[], $5::int8[], $6::int8[]) AS x(t, u, d, tr, r, n)
    ON CONFLICT (target_id) DO UPDATE
    SET ups = excluded.ups, downs = excluded.downs, trusted_score = excluded.trusted_score, reduced = excluded.reduced,
        not_counted = excluded.not_counted, version = t.version + 1, updated_at = excluded.updated_at
    RETURNING t.target_id, t.ups, t.downs, t.trusted_score, t.reduced, t.not_counted, t.version, t.updated_at
),
ev AS (
    SELECT gen_random_uuid() AS id, up.*, m.kind, m.author
    FROM up JOIN unnest($1::uuid[], $7::text[], $8::text[]) AS m(t, kind, author) ON m.t = up.target_id
)
INSERT INTO {s}.outbox (id, topic, key, type, headers, payload)
SELECT ev.id, $9, ev.target_id::text, $10,
    jsonb_build_array(
        jsonb_build_array('ce_specversion', '1.0'), jsonb_build_array('ce_id', ev.id::text), jsonb_build_array('ce_source', $11::text),
        jsonb_build_array('ce_type', $10::text), jsonb_build_array('ce_time', to_json(ev.updated_at) #>> '{{}}'),
        jsonb_build_array('ce_dataversion', $12::text), jsonb_build_array('content-type', 'application/json'),
        jsonb_build_array('ce_subject', ev.target_id::text)),
    convert_to(json_build_object(
        'target_id', ev.target_id, 'target_kind', ev.kind, 'author_id', ev.author, 'ups', ev.ups, 'downs', ev.downs,
        'score', ev.ups - ev.downs, 'version', ev.version, 'updated_at', ev.updated_at, 'trusted_score', ev.trusted_score,
        'reduced', ev.reduced, 'not_counted', ev.not_counted)::text, 'UTF8')
FROM ev
"""

# The fence: move each owned partition's stored offset from the value we know to the new one. A row that
# someone else moved (or created) meanwhile is not matched, and the count tells.
_FENCE = """
WITH x AS (SELECT * FROM unnest($3::int[], $4::int8[], $5::int8[]) AS x(p, e, n)),
upd AS (
    UPDATE {s}.consumer_offsets o SET next_offset = x.n, updated_at = now()
    FROM x WHERE o.consumer = $1 AND o.topic = $2 AND o.partition = x.p AND x.e IS NOT NULL AND o.next_offset = x.e
    RETURNING o.partition
),
ins AS (
    INSERT INTO {s}.consumer_offsets (consumer, topic, partition, next_offset)
    SELECT $1, $2, x.p, x.n FROM x WHERE x.e IS NULL
    ON CONFLICT DO NOTHING RETURNING partition
)
SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins)
"""

_PAGE_IN = """
SELECT target_id::text, voter_id::text, value, weight, vote_id::text, cast_at, reasons
FROM {s}.ballots WHERE target_id = ANY($1::uuid[])
"""


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, consumer: TallyConsumer) -> None:
        self.tally = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # The batch in flight commits (its offsets stored) before another member may take over.
        async with self.tally.lock:
            if not await self.tally.settle():
                self.tally.forget_all()  # the assignment that follows seeks every partition to its stored offset

    async def on_partitions_assigned(self, assigned: Any) -> None:
        async with self.tally.lock:
            await self.tally.assigned([tp.partition for tp in assigned if tp.topic == self.tally.topic_name])


class TallyConsumer:
    """The worker `agora consume voting tally` runs: `run(stop)`, `ready`, `close()`."""

    def __init__(
        self,
        *,
        database_url: str,
        bootstrap_servers: str,
        topic_prefix: str = "",
        batch_size: int = 25_000,
        session_timeout_ms: int = 30_000,
        integrity: IntegrityConfig | None = None,
        context: IntegrityContext | None = None,
        idle_seconds: float = 6 * 3600.0,
        topic: Topic = VOTES,
        deadletter: Topic | None = DEADLETTER,
        schema: str = SCHEMA,
        synchronous_commit: bool = False,
        automatic_gc: bool = False,
    ) -> None:
        self.database_url = database_url
        self.bootstrap_servers = bootstrap_servers
        self.prefix = topic_prefix
        self.batch_size = batch_size
        self.session_timeout_ms = session_timeout_ms
        self.integrity = integrity or IntegrityConfig()
        self.context = context or IntegrityContext(self.integrity)
        self.idle_seconds = idle_seconds
        self.topic_name = topic.qualified(topic_prefix)
        self.deadletter = deadletter
        self.s = schema
        self.synchronous_commit = synchronous_commit  # off by default: see run()
        self.automatic_gc = automatic_gc  # off by default: see tune_gc()
        self.lock = asyncio.Lock()
        self.ready = False
        self.pipeline = self.decisions()
        self.feed = ContextFeed(schema)  # connections, blocks, trust, solicitations: services/voting/context_feed.py
        # target -> (kind, author, partition): what tally.updated says about a target besides its numbers
        self.targets: dict[str, tuple[str, str, int]] = {}
        # (target, voter) of standing votes that are clears (value 0): their ballot rows exist
        self.tombs: set[tuple[str, str]] = set()
        self.copy_fallbacks = 0
        # partition -> its next offset stored in the database, as far as this process knows (None: no row)
        self.owned: dict[int, int | None] = {}
        self.consumer: Any = None
        self.producer: Any = None
        self.pool: asyncpg.Pool | None = None
        self.inflight: asyncio.Future[None] | None = None  # the batch being committed
        self.last_error_fenced = False
        self.kafka_committing: asyncio.Future[None] | None = None
        self.prepared_batches = 0
        # seconds spent per stage (the bench prints them): prepare's stages run while the previous batch commits
        self.timings = dict.fromkeys(("decode", "page_in", "decide", "build", "commit", "sql_ballots", "sql_tallies", "wait_commit"), 0.0)
        self.batches = 0  # committed
        self.messages = 0  # committed
        self.dead_lettered = 0
        self.fenced = 0
        self.tallies_published = 0
        self.revisions_published = 0
        self.context_checked = 0.0  # time.monotonic() of the last context read
        self.next_compaction = time.monotonic() + 60.0  # of the context log (context_feed.compact)
        self.next_gc = time.monotonic() + GC_EVERY
        self.gc_passes = 0
        self.findings_published = 0
        fault = os.environ.get("AGORA_FAULT_TALLY_KILL", "")
        self._fault = fault if fault in ("mid_batch", "after_commit") else ""
        self._fault_at = int(os.environ.get("AGORA_FAULT_TALLY_KILL_AT_BATCH", "1"))

    def decisions(self) -> VotePipeline:
        """THE seam to the decision pipeline (services/voting/integrity): one VotePipeline per process
        holds the owned targets' standing votes and decides each vote's weight; trusted score =
        Σ value × weight over standing votes, raw score = Σ value."""
        return VotePipeline(self.integrity, self.context)

    # -- lifecycle -----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        restore_gc = tune_gc(self.automatic_gc)
        try:
            await self._run(stop)
        finally:
            restore_gc()

    async def _run(self, stop: asyncio.Event) -> None:
        # A consumer frozen inside its transaction (GC pause, SIGSTOP, a stalled VM) would hold its row locks
        # and block the member that took over its partitions. PostgreSQL ends such a transaction once it has
        # been idle as long as the Kafka session: by then the partitions belong to someone else anyway, and
        # the fence throws the stale batch away when the process wakes up.
        stalled_ms = max(self.session_timeout_ms, 10_000)
        # synchronous_commit = off: COMMIT returns without waiting for the WAL flush. Safe for the stored
        # state because each batch's offsets commit in the same transaction as its effects: a server crash
        # loses whole transactions from the tail, in order, offsets included, so those votes are consumed
        # again (the next batch's fence fails against the older stored offsets and the process rebuilds
        # from the database). What it weakens: a tally read, or a tally.updated published by the relay,
        # in the ~0.6 s before the flush can belong to a transaction the crash then loses; re-consuming
        # writes the same ballots, ups, downs and version again (the trusted score may differ: the member
        # windows are rebuilt empty). A crash of this process or a clean server restart loses nothing.
        settings = {"idle_in_transaction_session_timeout": str(stalled_ms)}
        if not self.synchronous_commit:
            settings["synchronous_commit"] = "off"
        self.pool = await asyncpg.create_pool(
            self.database_url, min_size=2, max_size=2, command_timeout=120, server_settings=settings,
        )
        self.consumer = make_consumer(
            self.bootstrap_servers, self.prefix + NAME, max_poll_records=self.batch_size,
            session_timeout_ms=self.session_timeout_ms, heartbeat_interval_ms=max(1000, self.session_timeout_ms // 10),
            fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.producer = make_producer(self.bootstrap_servers) if self.deadletter else None
        try:
            applied = await self.feed.catch_up(self.pool, self.pipeline, self.author_of)
            log.info("context loaded: %d changes", applied)
            self.consumer.subscribe([self.topic_name], listener=_Rebalance(self))
            await self.consumer.start()
            if self.producer:
                await self.producer.start()
            self.ready = True
            while not stop.is_set():
                # While batch N commits, batch N+1 is fetched, decoded and decided: Python's work overlaps
                # PostgreSQL's. N+1 commits only after N did; if N fails, N+1 is thrown away with it.
                records = await self.consumer.getmany(timeout_ms=0 if self.inflight else 200, max_records=self.batch_size)
                if not records and self.inflight is None and time.monotonic() >= self.next_compaction:
                    await self.compact_context()
                if time.monotonic() >= self.next_gc and not self.automatic_gc:
                    self.collect_garbage()
                async with self.lock:
                    try:
                        # With nothing fetched, a batch may still be due: context that arrived late
                        # revised standing votes (checked at most once a second when idle).
                        prepared = await self.prepare(records) if records or self.context_due() else None
                    except Exception:
                        log.exception("preparing a batch failed")
                        prepared = None
                        await self.settle()
                        await self.recover(pause=1.0)
                        continue
                    if not await self.settle():
                        await self.recover(pause=0.0 if self.last_error_fenced else 1.0)
                        continue
                    if prepared is not None:
                        self.inflight = asyncio.ensure_future(self.commit(prepared))
                        if self.prepared_batches % 100 == 0:
                            # Page idle targets out, with nothing in flight (a paged-out target's ballots
                            # must be committed before a later batch may page it back in).
                            if await self.settle():
                                gone = set(self.pipeline.evict_idle_targets(self.idle_seconds))
                                for t in gone:
                                    self.targets.pop(t, None)
                                if gone and self.tombs:
                                    self.tombs = {k for k in self.tombs if k[0] not in gone}
                            else:
                                await self.recover(pause=1.0)
            async with self.lock:
                await self.settle()  # SIGTERM: the batch in flight finishes and commits
        finally:
            self.ready = False
            if self.kafka_committing is not None:
                await self.kafka_committing
            await self.consumer.stop()
            if self.producer:
                await self.producer.stop()
            await self.pool.close()
            log.info("tally consumer stopped after %d batches, %d messages", self.batches, self.messages)

    async def settle(self) -> bool:
        """Wait for the batch in flight; False if it failed (nothing of it committed)."""
        task, self.inflight = self.inflight, None
        if task is None:
            return True
        t0 = time.perf_counter()
        try:
            await task
            self.timings["wait_commit"] += time.perf_counter() - t0
            return True
        except Fenced as exc:
            self.fenced += 1
            self.last_error_fenced = True
            log.warning("batch fenced (%s): rebuilding state from the database", exc)
        except Exception:
            self.last_error_fenced = False
            log.exception("batch failed; rewinding to stored offsets")
        self.forget_all()
        return False

    async def recover(self, pause: float) -> None:
        """After a failed batch: start again from the stored offsets and ballots, after a pause (the
        database may be restarting)."""
        if pause:
            await asyncio.sleep(pause)
        self.forget_all()
        await self.assigned([tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic_name])

    async def close(self) -> None:
        """run() releases everything itself; kept for the worker protocol of `agora consume`."""

    # -- partitions ----------------------------------------------------------------------------------

    async def stored_offsets(self, partitions: list[int]) -> dict[int, int]:
        assert self.pool is not None
        rows = await self.pool.fetch(
            f"SELECT partition, next_offset FROM {self.s}.consumer_offsets "
            "WHERE consumer = $1 AND topic = $2 AND partition = ANY($3::int[])",
            NAME, self.topic_name, partitions,
        )
        return {r[0]: r[1] for r in rows}

    async def assigned(self, partitions: list[int]) -> None:
        """Seek every assigned partition to its stored offset. A partition kept across a rebalance keeps
        its in-memory targets only if nobody moved its stored offset meanwhile."""
        stored = await self.stored_offsets(partitions)
        for p in [p for p in self.owned if p not in partitions]:
            self.forget(p)
        for p in partitions:
            now = stored.get(p)
            if p in self.owned and self.owned[p] != now:
                self.forget(p)
            self.owned[p] = now
            tp = TopicPartition(self.topic_name, p)
            if now is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, now)
        log.info("assigned partitions %s, stored offsets %s", sorted(partitions), stored)

    def forget(self, partition: int) -> None:
        self.owned.pop(partition, None)
        self.pipeline.drop_partition(partition)
        gone = {t for t, info in self.targets.items() if info[2] == partition}
        for t in gone:
            del self.targets[t]
        self.tombs = {k for k in self.tombs if k[0] not in gone}

    def forget_all(self) -> None:
        self.pipeline = self.decisions()
        self.targets = {}
        self.tombs = set()
        self.owned = {}

    # -- one batch -----------------------------------------------------------------------------------

    def decode(self, records: dict[TopicPartition, list[Any]]) -> Batch:
        b = Batch()
        seen = b.seen
        info = self.targets
        dead = b.dead
        for tp, messages in records.items():
            p = tp.partition
            if tp.topic != self.topic_name or p not in self.owned:
                continue  # fetched before a rebalance took the partition away
            known = self.owned[p]
            votes = b.votes.setdefault(p, [])
            append = votes.append
            n = 0
            for msg in messages:
                if known is not None and msg.offset < known:
                    continue  # applied already (fetched before a seek)
                n += 1
                try:
                    decoded = decode_vote(msg.headers, msg.value)
                except Poison as exc:
                    dead.append((msg, str(exc)))
                    continue
                if decoded is not None:
                    v, kind = decoded
                    append(v)
                    seen[v.target] = p
                    info[v.target] = (kind, v.target_author, p)  # type: ignore[assignment]
            if n:
                b.messages += n
                b.positions[p] = messages[-1].offset + 1
        return b

    async def page_in(self, b: Batch) -> None:
        """Admit the targets this batch votes on that are not in memory, from their stored ballots."""
        assert self.pool is not None
        pipeline = self.pipeline
        missing = [t for t in b.seen if not pipeline.is_resident(t)]
        if not missing:
            return
        rows = await self.pool.fetch(_PAGE_IN.format(s=self.s), missing)
        standing: dict[str, list[Decision]] = {t: [] for t in missing}
        for t, voter, value, weight, vote_id, cast_at, reasons in rows:
            if value == 0:
                self.tombs.add((t, voter))
            standing[t].append(
                Decision(vote_id, _intern(voter), t, value, outcome_of(weight), weight, tuple(reasons) if reasons else (), cast_at.timestamp(), 0)
            )
        for t, decisions in standing.items():
            pipeline.admit_target(t, b.seen[t], decisions)

    async def prepare(self, records: dict[TopicPartition, list[Any]]) -> Prepared | None:
        """Decode, page in, decide: everything of a batch but the writes. Moves `owned` to the batch's
        positions (the next batch's fence expects them; if this one fails, `owned` is reloaded)."""
        clock = time.perf_counter
        t0 = clock()
        b = self.decode(records)
        self.context_checked = time.monotonic()
        await self.feed.catch_up(self.pool, self.pipeline, self.author_of)  # context committed since the last batch
        if not b.positions and not self.pipeline.pending():
            return None
        t1 = clock()
        await self.page_in(b)
        t2 = clock()
        pipeline = self.pipeline
        # changed (target, voter) -> whether its ballot row exists already (committed, or in the batch in
        # flight, which commits first). New rows are COPYed, existing ones upserted. A member's standing vote
        # exists iff it is non-zero or a known tombstone (a clear, value 0, is stored too).
        changed: dict[tuple[str, str], bool] = {}
        found = FindingsCollector()
        tombs = self.tombs
        for p, votes in b.votes.items():
            if votes:
                for d in pipeline.decide_batch(votes, p):
                    if d.reasons:
                        found.decision(d)
                    key = (d.target, d.voter)
                    if key not in changed:
                        changed[key] = d.previous_value != 0 or key in tombs
                    if d.value == 0:
                        tombs.add(key)
                    elif tombs:
                        tombs.discard(key)
                # Let the batch in flight send its next statement: its transaction runs one statement at a
                # time, and PostgreSQL would otherwise wait for the whole of this CPU-bound loop.
                await asyncio.sleep(0)
        changes = pipeline.drain()
        for r in changes.revisions:
            found.revision(r)
            changed.setdefault((r.target, r.voter), True)  # revisions touch standing (non-zero) votes only
        fence: tuple[list[int], list[int | None], list[int]] = ([], [], [])
        for p, known in self.owned.items():
            nxt = b.positions.get(p, known)
            if nxt is not None:  # (owned, never consumed and not in this batch: nothing of it is written)
                fence[0].append(p)
                fence[1].append(known)
                fence[2].append(nxt)
        self.owned.update(b.positions)
        self.prepared_batches += 1
        ts = changes.tallies
        await asyncio.sleep(0)  # (as in the loop above)
        t3 = clock()
        prepared = Prepared(
            batch=b, fence=fence, ballots=self.ballot_rows(changed),
            tallies=self.tally_columns(ts) if ts else None, integrity=found.rows(self.targets),
        )
        timings = self.timings
        timings["decode"] += t1 - t0
        timings["page_in"] += t2 - t1
        timings["decide"] += t3 - t2
        timings["build"] += clock() - t3
        return prepared

    async def commit(self, w: Prepared) -> None:
        """The batch's one transaction: fence, ballots, tallies, tally.updated outbox rows, offsets."""
        assert self.pool is not None
        if w.batch.dead:
            await self.send_deadletters(w.batch.dead)
        t0 = time.perf_counter()
        async with self.pool.acquire() as conn, conn.transaction():
            await self.fence(conn, w.fence)
            t1 = time.perf_counter()
            new, old = w.ballots
            if new:
                try:
                    async with conn.transaction():  # a savepoint: COPY is all or nothing
                        await conn.copy_records_to_table("ballots", schema_name=self.s, columns=_BALLOT_COLUMNS, records=new)
                except asyncpg.UniqueViolationError:
                    # Memory said "no row yet" and was wrong: correctness does not depend on it, only speed.
                    self.copy_fallbacks += 1
                    log.warning("a new ballot already existed; upserting the batch's %d new ballots instead", len(new))
                    await conn.execute(_UPSERT_BALLOTS.format(s=self.s), *_columns(new))
            if old[0]:
                await conn.execute(_UPSERT_BALLOTS.format(s=self.s), *old)
            t2 = time.perf_counter()
            if w.tallies is not None:
                await conn.execute(_UPSERT_TALLIES.format(s=self.s), *w.tallies)
                self.tallies_published += len(w.tallies[0])
            if w.integrity is not None:
                await self.write_integrity(conn, w.integrity)
            self.timings["sql_tallies"] += time.perf_counter() - t2  # tallies, their events, findings
            self.timings["sql_ballots"] += t2 - t1
            if self._fault == "mid_batch" and self.batches + 1 >= self._fault_at:
                os.kill(os.getpid(), signal.SIGKILL)
        self.timings["commit"] += time.perf_counter() - t0
        self.batches += 1
        self.messages += w.batch.messages
        if self._fault == "after_commit" and self.batches >= self._fault_at:
            os.kill(os.getpid(), signal.SIGKILL)
        # Kafka's committed offsets are for lag monitoring only (the database holds the truth): not awaited,
        # so a rebalance waiting for this batch never waits on the group coordinator too.
        if w.batch.positions and (self.kafka_committing is None or self.kafka_committing.done()):
            self.kafka_committing = asyncio.ensure_future(self.kafka_commit({TopicPartition(self.topic_name, p): o for p, o in w.batch.positions.items()}))

    async def write_integrity(self, conn: asyncpg.Connection, rows: IntegrityRows) -> None:
        """Findings for moderators and their events (services/voting/findings.py), in the batch's transaction."""
        if rows.findings[0]:
            await conn.execute(INSERT_FINDINGS.format(s=self.s), *rows.findings)
        if rows.outbox[0]:
            await conn.execute(INSERT_OUTBOX.format(s=self.s), *rows.outbox)
        self.revisions_published += rows.revised
        self.findings_published += rows.suspected

    async def compact_context(self) -> None:
        """Every 10 minutes, when idle: drop superseded context rows (any replica may; deletes are idempotent)."""
        self.next_compaction = time.monotonic() + 600.0
        try:
            n = await compact(self.pool, self.s, keep_seconds=4 * self.integrity.solicitation_window)
            if n:
                log.info("context log compacted: %d rows dropped", n)
        except Exception:
            log.exception("context log compaction failed; next try in 10 minutes")

    def collect_garbage(self) -> float:
        pause = collect_garbage()
        self.next_gc = time.monotonic() + GC_EVERY
        self.gc_passes += 1
        log.info("garbage collection paused the consumer %.0f ms", pause * 1000)
        return pause

    def context_due(self) -> bool:
        return self.inflight is None and time.monotonic() - self.context_checked >= 1.0

    def author_of(self, target: str) -> str | None:
        info = self.targets.get(target)
        return info[1] if info is not None else None

    async def kafka_commit(self, positions: dict[TopicPartition, int]) -> None:
        try:
            await self.consumer.commit(positions)
        except Exception as exc:
            log.info("kafka offset commit skipped: %s", exc)

    async def fence(self, conn: asyncpg.Connection, fence: tuple[list[int], list[int | None], list[int]]) -> None:
        parts, expected, new = fence
        moved = await conn.fetchval(_FENCE.format(s=self.s), NAME, self.topic_name, parts, expected, new)
        if moved != len(parts):
            raise Fenced(f"{len(parts) - moved} of partitions {parts} were moved by another consumer")

    def ballot_rows(self, changed: dict[tuple[str, str], bool]) -> tuple[list[tuple[Any, ...]], list[list[Any]]]:
        """The standing vote of every changed (target, voter): new rows as COPY records, existing rows as
        the columns of _UPSERT_BALLOTS."""
        standing = self.pipeline.standing_vote
        fromts = datetime.fromtimestamp
        new: list[tuple[Any, ...]] = []
        old: list[list[Any]] = [[], [], [], [], [], [], []]
        t_, v_, val_, id_, at_, w_, r_ = old
        for (target, voter), exists in changed.items():
            d = standing(target, voter)
            if d is None:  # pragma: no cover - a decision always leaves a standing vote
                continue
            if exists:
                t_.append(target)
                v_.append(voter)
                val_.append(d.value)
                id_.append(d.vote_id)
                at_.append(fromts(d.at, UTC))
                w_.append(d.weight)
                r_.append(",".join(d.reasons))
            else:
                new.append((target, voter, d.value, d.vote_id, fromts(d.at, UTC), d.weight, list(d.reasons) if d.reasons else None))
        return new, old

    def tally_columns(self, tallies: list[Any]) -> list[Any]:
        """The parameters of _UPSERT_TALLIES: absolute tallies, the targets' details, the event's constants."""
        info = self.targets
        kinds, authors = [], []
        for t in tallies:
            kind, author, _ = info.get(t.target, ("post", None, 0))
            kinds.append(kind)
            authors.append(author)
        return [
            [t.target for t in tallies], [t.ups for t in tallies], [t.downs for t in tallies], [t.trusted for t in tallies],
            [t.reduced for t in tallies], [t.not_counted for t in tallies], kinds, authors,
            TALLY_UPDATED.topic.name, TALLY_UPDATED.type, SOURCE, TALLY_UPDATED.version,
        ]

    async def send_deadletters(self, dead: list[tuple[Any, str]]) -> None:
        """Copy poison messages to the dead-letter topic (acked before the batch commits)."""
        self.dead_lettered += len(dead)
        await send_deadletters(self.producer, self.deadletter.qualified(self.prefix) if self.deadletter else None, NAME, dead)


async def tally_worker(settings: Any) -> TallyConsumer:
    """`agora consume voting tally`."""
    return TallyConsumer(
        database_url=settings.database_url, bootstrap_servers=settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix, batch_size=settings.tally_batch_size,
        session_timeout_ms=settings.kafka_session_timeout_ms,
    )
