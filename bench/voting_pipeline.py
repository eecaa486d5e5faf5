"""Throughput and memory of the vote decision pipeline alone (no Kafka, no database), one core.

    uv run python bench/voting_pipeline.py [--votes 1000000] [--targets 100000] [--voters 200000] [--repeat 3]

Synthetic but shaped like production: targets drawn Zipf(1.0) over 100,000 posts, voters' activity
log-normal over 200,000 members, ~5% repeats and ~5% changes or clears of an earlier vote, votes
spread over 12 hours of event time in order, a connection graph (average degree ~10, clustered) with
~4% of votes coming from the author's own connections, one client address per member (some shared
by households), user-agent hashes from 300 values, a few new/unverified members, some blocks.

Prints, for the same data in the same run (medians of --repeat runs, each on a fresh pipeline):
  baseline   the bare one-vote-per-member dedupe + raw tally, no checks, no decisions
  pipeline   every check on, a Decision per vote, revisions and tallies drained per 5,000-vote batch
and the resident memory: process RSS before building the pipeline, after it holds 1M votes of state
(incl. context: graph, trust), and the process peak. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.voting.integrity import (  # noqa: E402
    Block,
    Connection,
    ContentAuthored,
    IntegrityConfig,
    TrustSignal,
    Vote,
    VotePipeline,
)

SEED = 20240611
BATCH = 5000
DEFAULT_GC = gc.get_threshold()
# A long-running process holding millions of objects: let young objects (a batch of votes and its
# decisions) die before the first collection instead of ageing into the old generation, and keep the
# loaded context out of every collection (gc.freeze()).
TUNED_GC = (100_000, 50, 100)


def zipf_cum_weights(n: int, s: float) -> list[float]:
    acc, out = 0.0, []
    for i in range(1, n + 1):
        acc += 1.0 / i**s
        out.append(acc)
    return out


Row = tuple[str, str, str, str, int, float, str, str]  # a vote as decoded: id, voter, target, author, value, at, origin, device


def generate(n_votes: int, n_targets: int, n_voters: int) -> tuple[list[tuple[object, ...]], list[Row]]:
    """Context events and votes as plain tuples (what a decoder hands over), not objects: the
    consumer never holds a million event objects, and neither should the benchmark's heap."""
    rnd = random.Random(SEED)
    members = [f"m{i}" for i in range(n_voters)]
    t0 = 1_700_000_000.0
    span = 12 * 3600.0
    context: list[tuple[object, ...]] = []
    # clustered graph: each member links mostly inside a community of ~200, a few long ties
    adj: list[list[int]] = [[] for _ in range(n_voters)]
    community = 200
    for i in range(n_voters):
        base = (i // community) * community
        for _ in range(5):
            j = base + rnd.randrange(community) if rnd.random() < 0.8 else rnd.randrange(n_voters)
            if j != i and j < n_voters:
                adj[i].append(j)
                adj[j].append(i)
                context.append(("connection", members[i], members[j], t0 - 86400.0 * rnd.randint(1, 900), "import"))
    for _ in range(n_voters // 100):
        context.append(("trust", members[rnd.randrange(n_voters)], t0 - rnd.uniform(0, 6 * 86400), rnd.random() < 0.5, "new"))
    for _ in range(n_voters // 200):
        context.append(("block", members[rnd.randrange(n_voters)], members[rnd.randrange(n_voters)], t0 - 3600.0))
    authors = [rnd.randrange(n_voters) for _ in range(n_targets)]
    target_ids = [f"t{i}" for i in range(n_targets)]
    for i in range(n_targets):  # posts published over the two days before
        context.append(("content", target_ids[i], members[authors[i]], t0 - rnd.uniform(0, 2 * 86400)))
    origins = [f"o{i if rnd.random() > 0.03 else i // 2}" for i in range(n_voters)]
    devices = [f"d{int(rnd.paretovariate(1.2)) % 300}" for _ in range(n_voters)]
    t_cum = zipf_cum_weights(n_targets, 1.0)
    v_cum, acc = [], 0.0
    for _ in range(n_voters):
        acc += rnd.lognormvariate(0.0, 1.0)
        v_cum.append(acc)
    tgt = rnd.choices(range(n_targets), cum_weights=t_cum, k=n_votes)
    vtr = rnd.choices(range(n_voters), cum_weights=v_cum, k=n_votes)
    times = sorted(t0 + rnd.random() * span for _ in range(n_votes))
    rows: list[Row] = []
    cast: list[tuple[int, int, int]] = []
    for k in range(n_votes):
        r = rnd.random()
        if r < 0.05 and cast:  # repeat of an earlier vote
            ti, vi, val = cast[rnd.randrange(len(cast))]
        elif r < 0.10 and cast:  # change or clear of an earlier vote
            ti, vi, val = cast[rnd.randrange(len(cast))]
            val = rnd.choice([0, -val])
        else:
            ti = tgt[k]
            a = authors[ti]
            vi = rnd.choice(adj[a]) if r < 0.14 and adj[a] else vtr[k]
            val = 1 if rnd.random() < 0.85 else -1
            cast.append((ti, vi, val))
        rows.append((f"v{k}", members[vi], target_ids[ti], members[authors[ti]], val, times[k], origins[vi], devices[vi]))
    return context, rows


def context_event(row: tuple[object, ...]) -> object:
    kind, *f = row
    if kind == "connection":
        return Connection(*f)  # type: ignore[arg-type]
    if kind == "trust":
        return TrustSignal(*f)  # type: ignore[arg-type]
    if kind == "block":
        return Block(*f)  # type: ignore[arg-type]
    return ContentAuthored(*f)  # type: ignore[arg-type]


def batches(rows: list[Row]) -> Iterator[list[Vote]]:
    for i in range(0, len(rows), BATCH):
        yield [Vote(*r) for r in rows[i : i + BATCH]]


def baseline(rows: list[Row]) -> float:
    """The bare dedupe + tally: standing vote per (target, voter), newer-wins, raw tally per target."""
    standing: dict[str, dict[str, tuple[int, str, float]]] = {}
    tallies: dict[str, list[int]] = {}
    spent = 0.0
    for batch in batches(rows):
        start = time.process_time()
        dirty: dict[str, None] = {}
        for v in batch:
            t = v.target
            tv = standing.get(t)
            if tv is None:
                tv = standing[t] = {}
                tallies[t] = [0, 0, 0]
            prev = tv.get(v.voter)
            if prev is not None:
                if v.at < prev[2] or (v.at == prev[2] and v.vote_id <= prev[1]) or prev[0] == v.value:
                    continue
                tl = tallies[t]
                tl[0] -= prev[0]
                if prev[0] > 0:
                    tl[1] -= 1
                elif prev[0] < 0:
                    tl[2] -= 1
            else:
                tl = tallies[t]
            tv[v.voter] = (v.value, v.vote_id, v.at)
            tl[0] += v.value
            if v.value > 0:
                tl[1] += 1
            elif v.value < 0:
                tl[2] += 1
            dirty[t] = None
        _ = [(t, tallies[t]) for t in dirty]
        spent += time.process_time() - start
    return len(rows) / spent


def pipeline_run(context: list[tuple[object, ...]], rows: list[Row], config: IntegrityConfig, freeze: bool) -> tuple[float, VotePipeline, Counter[str]]:
    p = VotePipeline(config)
    for e in context:
        p.apply_context(context_event(e))  # type: ignore[arg-type]
    if freeze:  # what the consumer does (docs/voting-integrity.md): see TUNED_GC
        gc.collect()
        gc.freeze()
        gc.set_threshold(*TUNED_GC)
    reasons: Counter[str] = Counter()
    spent = 0.0
    for i, batch in enumerate(batches(rows)):
        start = time.process_time()
        decisions = p.decide_batch(batch, i % 12)
        p.drain()
        spent += time.process_time() - start
        for d in decisions:
            reasons.update(d.reasons)
    if freeze:
        gc.unfreeze()
        gc.set_threshold(*DEFAULT_GC)
    return len(rows) / spent, p, reasons


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--votes", type=int, default=1_000_000)
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--voters", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    proc = psutil.Process()
    t = time.process_time()
    context, rows = generate(args.votes, args.targets, args.voters)
    gc.collect()
    print(f"generated {len(rows):,} votes and {len(context):,} context events in {time.process_time() - t:.1f} CPU s")
    config = IntegrityConfig()
    base: list[float] = []
    runs: dict[bool, list[float]] = {False: [], True: []}
    rss: list[tuple[int, int]] = []
    last: VotePipeline | None = None
    reasons: Counter[str] = Counter()
    for _ in range(args.repeat):
        base.append(baseline(rows))
        gc.collect()
        for freeze in (False, True):
            last = None
            gc.collect()
            before = proc.memory_info().rss
            rate, last, reasons = pipeline_run(context, rows, config, freeze)
            runs[freeze].append(rate)
            rss.append((before, proc.memory_info().rss))
    assert last is not None
    c = last.counters
    b = statistics.median(base)
    print(f"votes/s are per CPU-second of this process (time.process_time), medians of {args.repeat} runs")
    print(f"baseline  dedupe + tally, no checks               {b:>10,.0f} votes/s   runs: {', '.join(f'{x:,.0f}' for x in base)}")
    for freeze, label in ((False, "pipeline  every check, default GC             "), (True, "pipeline  every check, GC tuned             ")):
        r = statistics.median(runs[freeze])
        print(f"{label}    {r:>10,.0f} votes/s   runs: {', '.join(f'{x:,.0f}' for x in runs[freeze])}   ({r / b:.2f} of baseline)")
    n_disc = sum(1 for _ in ())
    print(
        f"decided {c.decided:,}  repeats {c.repeats:,}  duplicates/stale {c.duplicates:,}  revisions {c.revisions:,}  "
        f"rings found {last.rings.rings_found:,}{n_disc * 0 or ''}"
    )
    print("reasons given (this data has no injected manipulation; blocks, new accounts and in-network votes are random):")
    print("  " + ", ".join(f"{k} {v:,} ({v / c.decided:.2%})" for k, v in reasons.most_common()))
    mib = 1024 * 1024
    before, after = rss[0]
    print(
        f"RSS before the first pipeline {before / mib:,.0f} MiB (benchmark data), after it holds the state of "
        f"{len(rows):,} votes and the context {after / mib:,.0f} MiB (≈ {(after - before) / mib:,.0f} MiB of pipeline state); "
        f"process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    print(f"(one core; {math.ceil(len(rows) / BATCH)} batches of {BATCH:,}; Vote objects built per batch outside the timed part; Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
