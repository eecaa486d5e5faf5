"""Throughput and memory of the tally consumer on the real Kafka and PostgreSQL, next to a naive baseline
and the raw Kafka ceiling, measured on the same preloaded votes in one run.

    uv run python bench/voting_tally.py [--votes 1000000] [--targets 100000] [--voters 200000] [--batch 10000]
        [--tally "10000/gc 10000 10000/p2"] [--repeat N] [--skip raw,naive]

Preloads --votes `vote.cast` CloudEvents (Zipf(1.0) over targets, voters' activity skewed, ~6% repeats
of a standing vote, ~6% changes or clears, cast_at in order over 12 hours) into its own topic prefix
with aiokafka's batch API, in its own database (`agora_bench_<hex>`, dropped at the end), then measures,
each in a fresh child process (so peak RSS is that phase's own):
  raw      a plain aiokafka consumer that only fetches and orjson-decodes every message
  tally    the tally consumer (services/voting/tally.py) with every check on: CloudEvent + schema
           validation, dedupe, the decision pipeline, ballots + tallies + tally.updated outbox + offsets
           in one transaction per batch
           --tally runs variants of it, each on a fresh database: BATCH[/sync][/gc][/pN] (sync: with
           synchronous_commit on, as before 2026-11-27; gc: automatic cyclic GC with raised thresholds,
           as before 2026-11-27 21:30 UTC; pN: N consumer processes of one group,
           `agora consume voting tally`, progress read from the offsets they store)
  naive    per vote: one `INSERT … ON CONFLICT (voter, target) DO UPDATE` + a tally upsert (one
           statement, executemany), one transaction + stored offsets per 5,000 votes
Prints votes/s (from the first batch applied to the last), peak RSS, and the CPU per vote of the
consumer process(es) and of the PostgreSQL backends serving them (read from /proc: run it on the
database's host), with the rate that CPU would allow on an otherwise idle box; checks that each tally variant's totals equal the ground truth computed while
generating. Figures only, no assertions. Phases are interleaved over --repeat runs (median printed):
on a shared machine compare only figures of one run.
Environment: DATABASE_URL (an admin URL on the server), KAFKA_BOOTSTRAP_SERVERS; BENCH_PROFILE=FILE
writes a cProfile of the in-process tally phase to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from bisect import bisect_left
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.catalog import DEADLETTER, TALLIES, VOTES  # noqa: E402
from services.kit.topics import ensure_topics  # noqa: E402
from bench.scratch import PgCpu, migrated_database  # noqa: E402
from tests.support import infra  # noqa: E402

SEED = 20261127
NAIVE_BATCH = 5000


# The infrastructure the test suite uses (DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, else the local platform).
admin_url = infra.base_database_url
bootstrap = infra.bootstrap_servers
with_db = infra._with_db


# ---------------------------------------------------------------------------------------------------
# data


def generate(n_votes: int, n_targets: int, n_voters: int) -> tuple[list[tuple[int, bytes, bytes, list[tuple[str, bytes]]]], dict[str, int]]:
    """(partition, key, value, headers) in cast_at order, and the ground truth totals."""
    from aiokafka.partitioner import murmur2

    rnd = random.Random(SEED)
    targets = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(n_targets)]
    voters = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(n_voters)]
    authors = [voters[rnd.randrange(n_voters)] for _ in range(n_targets)]
    parts = [(murmur2(t.encode()) & 0x7FFFFFFF) % VOTES.partitions for t in targets]
    t_cum = list(accumulate(1.0 / (i + 1) for i in range(n_targets)))
    v_cum = list(accumulate(math.exp(rnd.gauss(0, 1.2)) for _ in range(n_voters)))
    t_total, v_total = t_cum[-1], v_cum[-1]
    standing: dict[tuple[int, int], int] = {}
    recent: list[tuple[int, int]] = []
    t0 = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    step = 12 * 3600.0 / max(n_votes, 1)
    out = []
    dumps = orjson.dumps
    for i in range(n_votes):
        r = rnd.random()
        if recent and r < 0.12:
            vi, ti = recent[rnd.randrange(len(recent))]
            prev = standing[(vi, ti)]
            value = prev if r < 0.06 else rnd.choice([x for x in (-1, 0, 1) if x != prev])  # a repeat, or a change/clear
        else:
            ti = min(bisect_left(t_cum, rnd.random() * t_total), n_targets - 1)
            vi = min(bisect_left(v_cum, rnd.random() * v_total), n_voters - 1)
            value = 1 if rnd.random() < 0.8 else -1
        key = (vi, ti)
        standing[key] = value
        if len(recent) < 50_000:
            recent.append(key)
        else:
            recent[rnd.randrange(50_000)] = key
        vote_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        at = datetime.fromtimestamp(t0 + i * step, UTC).isoformat()
        target = targets[ti]
        data = {"vote_id": vote_id, "voter_id": voters[vi], "target_id": target, "target_kind": "post", "author_id": authors[ti],
                "value": value, "cast_at": at, "origin": f"o{vi % 150_000}", "device": f"d{vi % 300}"}
        headers = [
            ("ce_specversion", b"1.0"), ("ce_id", vote_id.encode()), ("ce_source", b"agora/voting"), ("ce_type", b"vote.cast"),
            ("ce_time", at.encode()), ("ce_dataversion", b"1"), ("content-type", b"application/json"), ("ce_subject", target.encode()),
        ]
        out.append((parts[ti], target.encode(), dumps(data), headers))
    truth = {"ups": sum(1 for v in standing.values() if v == 1), "downs": sum(1 for v in standing.values() if v == -1),
             "ballots": len(standing), "targets_voted": len({t for _, t in standing})}
    return out, truth


async def preload(topic: str, messages: list[tuple[int, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(), acks="all", linger_ms=20, max_batch_size=1 << 20, request_timeout_ms=60000)
    await producer.start()
    try:
        by_part: dict[int, list[Any]] = {}
        for m in messages:
            by_part.setdefault(m[0], []).append(m)
        sends = []
        for p, msgs in by_part.items():
            batch = producer.create_batch()
            for _, key, value, headers in msgs:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    sends.append(await producer.send_batch(batch, topic, partition=p))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None, headers=headers)
            sends.append(await producer.send_batch(batch, topic, partition=p))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


# ---------------------------------------------------------------------------------------------------
# phases (each runs in its own child process)


class Peak:
    """Samples this process's RSS every 50 ms; `peak` in MiB."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0.0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)
            await asyncio.sleep(0.05)

    def __enter__(self) -> Peak:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)
        assert self.task is not None
        self.task.cancel()


async def from_the_start(prefix: str) -> Any:
    """A group-less consumer of the votes topic, every partition at its beginning (raw and naive phases)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap(), enable_auto_commit=False, fetch_max_bytes=64 << 20, max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    tps = [TopicPartition(VOTES.qualified(prefix), p) for p in range(VOTES.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return consumer


async def phase_raw(prefix: str, total: int, **_: Any) -> dict[str, Any]:
    consumer = await from_the_start(prefix)
    try:
        n, first, t0 = 0, 0, 0.0
        loads = orjson.loads
        with Peak() as peak:
            while n < total:
                batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                for msgs in batch.values():
                    for m in msgs:
                        loads(m.value)
                    n += len(msgs)
                if not t0 and n:
                    t0, first = time.perf_counter(), n
                    cpu = psutil.Process().cpu_times()
            t1 = time.perf_counter()
            used = psutil.Process().cpu_times()
        return {"rate": (n - first) / (t1 - t0), "rss": peak.peak, "n": n, "cpu": used.user + used.system - cpu.user - cpu.system,
                "wall": t1 - t0, "pg_cpu": 0.0, "counted": n - first}
    finally:
        await consumer.stop()


async def phase_tally(prefix: str, total: int, database_url: str, batch: int, procs: int = 1, sync: bool = False, gc: bool = False,
                      **_: Any) -> dict[str, Any]:
    if procs > 1:
        return await tally_processes(prefix, total, database_url, batch, procs, sync)
    from services.voting.tally import TallyConsumer

    consumer = TallyConsumer(database_url=database_url, bootstrap_servers=bootstrap(), topic_prefix=prefix, batch_size=batch, synchronous_commit=sync,
                             automatic_gc=gc)
    stop = asyncio.Event()
    pg = PgCpu(database_url)
    pg.begin()
    with Peak() as peak:
        task = asyncio.get_running_loop().create_task(consumer.run(stop))
        t0 = first = 0.0
        while consumer.messages < total:
            if task.done():
                task.result()
                raise RuntimeError("tally consumer stopped early")
            if not t0 and consumer.messages:
                t0, first = time.perf_counter(), consumer.messages
                cpu = psutil.Process().cpu_times()
            await asyncio.sleep(0.01)
        t1 = time.perf_counter()
        used = psutil.Process().cpu_times()
        pg_cpu = pg.end()
        gc_pause = consumer.collect_garbage()  # what the hourly pass costs with this state (not timed above)
        stop.set()
        await task
    pipe = consumer.pipeline.counters
    return {**await totals(database_url), "rate": (consumer.messages - first) / (t1 - t0), "rss": peak.peak, "n": consumer.messages,
            "batches": consumer.batches, "timings": consumer.timings, "gc": [consumer.gc_passes - 1, gc_pause, gc], "copy_fallbacks": consumer.copy_fallbacks,
            "cpu": used.user + used.system - cpu.user - cpu.system, "wall": t1 - t0, "pg_cpu": pg_cpu, "counted": consumer.messages - first,
            "repeats": pipe.repeats, "duplicates": pipe.duplicates, "revisions": pipe.revisions}


async def totals(database_url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT coalesce(sum(ups), 0) AS ups, coalesce(sum(downs), 0) AS downs, count(*) AS targets FROM voting.tallies")
        ballots = await conn.fetchval("SELECT count(*) FROM voting.ballots")
        outbox = await conn.fetchval("SELECT count(*) FROM voting.outbox")
    finally:
        await conn.close()
    return {"ups": int(row["ups"]), "downs": int(row["downs"]), "ballots": ballots, "tally_events": outbox, "targets": row["targets"]}


async def tally_processes(prefix: str, total: int, database_url: str, batch: int, procs: int, sync: bool) -> dict[str, Any]:
    """`procs` tally consumers as separate processes of one consumer group (`agora consume voting tally`,
    as deployed); progress is read from the offsets they store with their effects."""
    env = dict(os.environ, DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap(), AGORA_TOPIC_PREFIX=prefix,
               VOTING_TALLY_BATCH_SIZE=str(batch), AGORA_LOG_LEVEL="WARNING")
    logs = ROOT / ".run" / "logs" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    files = [logs / f"voting-tally-{os.getpid()}-{k}.log" for k in range(procs)]
    children = []
    for f in files:
        with f.open("wb") as fh:  # the child keeps its own descriptor
            children.append(subprocess.Popen([sys.executable, "-m", "services.cli", "consume", "voting", "tally"], cwd=ROOT, env=env,
                                             stdout=fh, stderr=subprocess.STDOUT))
    ps = [psutil.Process(c.pid) for c in children]
    peak = [0.0] * procs
    cpu0 = [0.0] * procs
    conn = await asyncpg.connect(database_url)
    pg = PgCpu(database_url)
    try:
        t0 = t1 = 0.0
        first = n = 0
        while n < total:
            if any(c.poll() is not None for c in children):
                raise RuntimeError("a tally consumer exited: " + "".join(f.read_text()[-3000:] for c, f in zip(children, files, strict=True) if c.poll() is not None))
            n = int(await conn.fetchval("SELECT coalesce(sum(next_offset), 0) FROM voting.consumer_offsets WHERE consumer = 'voting.tally'"))
            for i, p in enumerate(ps):
                peak[i] = max(peak[i], p.memory_info().rss / 2**20)
            if not t0 and n:
                t0, first = time.perf_counter(), n
                cpu0 = [sum(p.cpu_times()[:2]) for p in ps]
                pg.begin()
            await asyncio.sleep(0.02)
        t1 = time.perf_counter()
        cpu = sum(sum(p.cpu_times()[:2]) for p in ps) - sum(cpu0)
        pg_cpu = pg.end()
    finally:
        await conn.close()
        for c in children:
            c.terminate()
        for c in children:
            c.wait(60)
    return {**await totals(database_url), "rate": (n - first) / (t1 - t0), "rss": max(peak), "n": n, "batches": 0, "timings": {},
            "copy_fallbacks": 0, "cpu": cpu, "wall": t1 - t0, "pg_cpu": pg_cpu, "counted": n - first, "repeats": 0, "duplicates": 0, "revisions": 0}


_NAIVE_DDL = """
CREATE SCHEMA naive;
CREATE TABLE naive.ballots (voter_id uuid NOT NULL, target_id uuid NOT NULL, value int2 NOT NULL, PRIMARY KEY (voter_id, target_id));
CREATE TABLE naive.tallies (target_id uuid PRIMARY KEY, ups bigint NOT NULL, downs bigint NOT NULL, version bigint NOT NULL);
CREATE TABLE naive.offsets (partition int PRIMARY KEY, next_offset bigint NOT NULL);
"""

# One statement per vote: replace the (voter, target) ballot and move the tally by the difference.
_NAIVE_VOTE = """
WITH prev AS (SELECT value FROM naive.ballots WHERE voter_id = $1 AND target_id = $2),
up AS (
    INSERT INTO naive.ballots (voter_id, target_id, value) VALUES ($1, $2, $3)
    ON CONFLICT (voter_id, target_id) DO UPDATE SET value = excluded.value RETURNING 1
)
INSERT INTO naive.tallies AS t (target_id, ups, downs, version)
SELECT $2, ($3 = 1)::int - coalesce((SELECT (value = 1)::int FROM prev), 0),
           ($3 = -1)::int - coalesce((SELECT (value = -1)::int FROM prev), 0), 1
FROM up
ON CONFLICT (target_id) DO UPDATE SET ups = t.ups + excluded.ups, downs = t.downs + excluded.downs, version = t.version + 1
"""


async def phase_naive(prefix: str, total: int, database_url: str, **_: Any) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    await conn.execute(_NAIVE_DDL)
    consumer = await from_the_start(prefix)
    try:
        n, first, t0 = 0, 0, 0.0
        pg = PgCpu(database_url)
        with Peak() as peak:
            while n < total:
                batch = await consumer.getmany(timeout_ms=1000, max_records=NAIVE_BATCH)
                rows, positions = [], {}
                for tp, msgs in batch.items():
                    for m in msgs:
                        d = orjson.loads(m.value)
                        rows.append((d["voter_id"], d["target_id"], d["value"]))
                    positions[tp.partition] = msgs[-1].offset + 1
                if not rows:
                    continue
                async with conn.transaction():
                    await conn.executemany(_NAIVE_VOTE, rows)
                    await conn.executemany(
                        "INSERT INTO naive.offsets VALUES ($1, $2) ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset",
                        list(positions.items()))
                n += len(rows)
                if not t0:
                    t0, first = time.perf_counter(), n
                    cpu = psutil.Process().cpu_times()
                    pg.begin()
            t1 = time.perf_counter()
            used = psutil.Process().cpu_times()
            pg_cpu = pg.end()
        ups = int(await conn.fetchval("SELECT coalesce(sum(ups), 0) FROM naive.tallies"))
        return {"rate": (n - first) / (t1 - t0), "rss": peak.peak, "n": n, "ups": ups, "cpu": used.user + used.system - cpu.user - cpu.system,
                "wall": t1 - t0, "pg_cpu": pg_cpu, "counted": n - first}
    finally:
        await consumer.stop()
        await conn.close()


PHASES = {"raw": phase_raw, "tally": phase_tally, "naive": phase_naive}


def run_phase(name: str, args: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--phase-args", json.dumps(args)], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------


async def setup(database: str, prefix: str, topics: bool = True) -> None:
    await migrated_database(database, "voting")
    if topics:
        await ensure_topics(bootstrap(), [VOTES, TALLIES, DEADLETTER], prefix)


async def cleanup(database: str, prefix: str) -> None:
    await infra.drop_database(admin_url(), database)
    await infra.delete_topics(bootstrap(), prefix)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--votes", type=int, default=1_000_000)
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--voters", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=25_000, help="the tally consumer's batch size (VOTING_TALLY_BATCH_SIZE)")
    ap.add_argument("--tally", default="", help="tally consumer variants, space-separated: BATCH[/sync][/gc][/pN] "
                    "(sync: synchronous_commit=on; gc: automatic cyclic GC as before; pN: N consumer processes in one group), e.g. '10000/sync 50000 50000/p2'; "
                    "default: just --batch")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each phase, interleaved; the median is printed")
    ap.add_argument("--skip", default="", help="comma-separated phases to skip (raw, tally, naive)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--phase-args", help=argparse.SUPPRESS)
    a = ap.parse_args()
    import uvloop

    if a.phase:
        if os.environ.get("BENCH_PROFILE") and a.phase == "tally":
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
            result = uvloop.run(PHASES[a.phase](**json.loads(a.phase_args)))
            prof.disable()
            prof.dump_stats(os.environ["BENCH_PROFILE"])
        else:
            result = uvloop.run(PHASES[a.phase](**json.loads(a.phase_args)))
        print(json.dumps(result))
        return

    variants: dict[str, dict[str, Any]] = {}
    for spec in (a.tally.split() or [str(a.batch)]):
        parts = spec.split("/")
        v: dict[str, Any] = {"batch": int(parts[0]), "procs": 1, "sync": False, "gc": False}
        for x in parts[1:]:
            if x == "sync":
                v["sync"] = True
            elif x == "gc":
                v["gc"] = True
            elif x.startswith("p"):
                v["procs"] = int(x[1:])
            else:
                raise SystemExit(f"bad --tally variant {spec!r}")
        if (v["sync"] or v["gc"]) and v["procs"] > 1:
            raise SystemExit("/sync and /gc are variants of the in-process run only (the worker always runs with the defaults)")
        variants[f"tally {spec}"] = v
    run_id = secrets.token_hex(4)
    database, prefix = f"agora_bench_{run_id}", f"bench{run_id}."
    t = time.perf_counter()
    messages, truth = generate(a.votes, a.targets, a.voters)
    print(f"generated {len(messages):,} votes over {a.targets:,} targets by {a.voters:,} voters in {time.perf_counter() - t:.1f} s: "
          f"{truth['ballots']:,} distinct (voter, target), {truth['targets_voted']:,} targets voted on")
    asyncio.run(setup(database, prefix))
    databases = [database]
    try:
        t = time.perf_counter()
        asyncio.run(preload(VOTES.qualified(prefix), messages))
        print(f"preloaded into {VOTES.qualified(prefix)} ({VOTES.partitions} partitions) in {time.perf_counter() - t:.1f} s "
              f"({len(messages) / (time.perf_counter() - t):,.0f} msgs/s, batch API)")
        del messages
        skip = set(filter(None, a.skip.split(",")))
        runs: dict[str, list[dict[str, Any]]] = {}
        for i in range(a.repeat):
            # Interleaved (raw, tally, naive, raw, tally, naive, ...) so that the machine's background load
            # weighs on each the same; each repeat of a writing phase gets a fresh database.
            db = database if i == 0 else f"{database}_r{i}"
            if i:
                asyncio.run(setup(db, prefix, topics=False))
                databases.append(db)
            args = {"prefix": prefix, "total": a.votes, "database_url": with_db(admin_url(), db), "batch": a.batch}
            if "raw" not in skip:
                runs.setdefault("raw", []).append(run_phase("raw", args))
            if "tally" not in skip:
                for j, (label, variant) in enumerate(variants.items()):
                    vdb = db if j == 0 else f"{db}_v{j}"
                    if j:
                        asyncio.run(setup(vdb, prefix, topics=False))
                        databases.append(vdb)
                    runs.setdefault(label, []).append(run_phase("tally", {**args, **variant, "database_url": with_db(admin_url(), vdb)}))
            if "naive" not in skip:
                runs.setdefault("naive", []).append(run_phase("naive", args))
        results = {name: sorted(rs, key=lambda r: r["rate"])[len(rs) // 2] for name, rs in runs.items()}  # the median run
    finally:
        for db in databases:
            asyncio.run(cleanup(db, prefix))
    print()
    labels = {"raw": "raw ceiling: fetch + orjson.loads only", "naive": "naive: per-vote upsert + tally upsert"}
    for label, v in variants.items():
        labels[label] = (f"tally, batch {v['batch']:,}" + (", synchronous_commit on" if v["sync"] else "") + (", automatic GC" if v["gc"] else "")
                         + (f", {v['procs']} processes" if v["procs"] > 1 else "") + ": every check on")
    print(f"{'':<58} {'votes/s':>10}   {'peak RSS':>8}   {'CPU µs per vote':>22}   {'CPU-bound':>10}")
    print(f"{'':<58} {'':>10}   {'':>8}   {'client':>7} {'PG':>6} {'total':>7}   {'votes/s':>10}")
    for name, r in results.items():
        each = ", ".join(f"{x['rate']:,.0f}" for x in runs[name])
        us, pg = r["cpu"] / r["counted"] * 1e6, r["pg_cpu"] / r["counted"] * 1e6
        # what the CPU per vote allows on this box's cores if nothing else ran: one consumer process uses one core at most, and its transactions run one at a time (one backend busy)
        procs = min(variants[name]["procs"] if name in variants else 1, psutil.cpu_count())
        bound = min(psutil.cpu_count() / (us + pg), procs / us, procs / pg if pg else math.inf) * 1e6
        print(f"{labels[name]:<58} {r['rate']:>10,.0f}   {r['rss']:>4,.0f} MiB   {us:>7.1f} {pg:>6.1f} {us + pg:>7.1f}   {bound:>10,.0f}   (runs: {each})")
    print("(client: the consumer process(es); PG: the database backends serving them; CPU-bound: cores / total CPU per vote,\n"
          " at most one core per consumer process and one busy backend per process: what this box would allow with no\n"
          " other load — Kafka's CPU is not counted)")
    for label in variants:
        if label not in results:
            continue
        r = results[label]
        print()
        if "naive" in results:
            print(f"{label + ' / naive':<58} {r['rate'] / results['naive']['rate']:>10.2f} x")
        if "raw" in results:
            print(f"{label + ' / raw ceiling':<58} {r['rate'] / results['raw']['rate']:>10.2f}")
        ok = (r["ups"], r["downs"], r["ballots"]) == (truth["ups"], truth["downs"], truth["ballots"])
        print(f"{label} vs ground truth: {'OK' if ok else 'MISMATCH'} (ups {r['ups']:,}/{truth['ups']:,}, downs {r['downs']:,}/{truth['downs']:,}, "
              f"ballots {r['ballots']:,}/{truth['ballots']:,}); {r['batches']:,} batches, {r['targets']:,} tallies, "
              f"{r['tally_events']:,} outbox rows (tally.updated + integrity events), {r['copy_fallbacks']} COPY fallbacks; "
              f"pipeline repeats {r['repeats']:,}, stale {r['duplicates']:,}, revisions {r['revisions']:,}")
        if r["timings"]:
            print("  seconds per stage: " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
                  + "  (decode/page_in/decide/build overlap the previous batch's commit)")
        if r.get("gc"):
            mode = "automatic collection on (raised thresholds)" if r["gc"][2] else f"automatic collection off, {r['gc'][0]} passes during the run"
            print(f"  cyclic GC: {mode}; one full pass over the final state (run hourly) paused it {r['gc'][1] * 1000:.0f} ms")
    print(f"(one run on {psutil.cpu_count()} cores shared with Kafka and PostgreSQL; load average now {os.getloadavg()[0]:.1f}; "
          f"naive batch {NAIVE_BATCH:,})")


if __name__ == "__main__":
    main()
