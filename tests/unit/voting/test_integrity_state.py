"""The pipeline's state: snapshot/restore, per partition, sweeps, paging and determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from services.voting.integrity import Decision, IntegrityConfig, Revision, Tally, Vote, VotePipeline
from services.voting.integrity.events import Event
from tests.unit.voting.stream import mixed

ROOT = Path(__file__).resolve().parents[3]


def _feed(p: VotePipeline, events: list[Event]) -> tuple[list[Decision], list[Revision], list[Tally]]:
    decisions: list[Decision] = []
    revisions: list[Revision] = []
    tallies: list[Tally] = []
    for i, d in enumerate(p.run(events, partition=0)):
        decisions.append(d)
        if i % 50 == 0:
            c = p.drain()
            revisions += c.revisions
            tallies += c.tallies
    c = p.drain()
    return decisions, revisions + c.revisions, tallies + c.tallies


def test_the_mixed_scenario_exercises_every_stateful_detector() -> None:
    p = VotePipeline()
    decisions, revisions, _ = _feed(p, mixed(1).events)
    reasons = {r for d in decisions for r in d.reasons} | {r for v in revisions for r in v.reasons}
    assert {"lockstep_ring", "solicited_in_network_burst", "solicited_message", "shared_origin", "velocity", "reciprocal_ring", "new_account"} <= reasons
    assert revisions


def test_a_restored_snapshot_decides_exactly_like_a_run_that_never_stopped() -> None:
    events = mixed(2).events
    cut = len(events) // 2
    whole = _feed(VotePipeline(), events)

    first = VotePipeline()
    head = _feed(first, events[:cut])
    blob = orjson.dumps(first.snapshot())  # through bytes, as the consumer stores it
    second = VotePipeline.restore(orjson.loads(blob))
    tail = _feed(second, events[cut:])

    assert head[0] + tail[0] == whole[0]
    assert head[1] + tail[1] == whole[1]
    final = VotePipeline()
    _feed(final, events)
    assert sorted(second.tallies()) == sorted(final.tallies())
    assert orjson.dumps(second.snapshot()) == orjson.dumps(final.snapshot())


def test_a_partition_restored_alone_gets_the_same_tallies_and_dedupes_redeliveries() -> None:
    events = [e for e in mixed(4).events if isinstance(e, Vote)]
    votes_a = [v for v in events if sum(map(ord, v.target)) % 2 == 0]
    votes_b = [v for v in events if sum(map(ord, v.target)) % 2 == 1]
    p = VotePipeline()
    p.decide_batch(votes_a[: len(votes_a) // 2], 0)
    p.decide_batch(votes_b, 1)
    p.drain()
    snap = orjson.loads(orjson.dumps(p.snapshot(partitions=[0])))
    assert {tb[0] for tb in snap["targets"].values()} == {0}
    # another consumer takes partition 0 over after a rebalance, and Kafka redelivers from an older offset
    q = VotePipeline.restore(snap)
    redelivered = votes_a[len(votes_a) // 4 :]
    q.decide_batch(redelivered, 0)
    p.decide_batch(votes_a[len(votes_a) // 2 :], 0)
    p.drop_partition(1)
    assert sorted(q.tallies()) == sorted(p.tallies())


def test_sweeps_give_memory_back_without_changing_any_decision() -> None:
    events = mixed(5).events
    never = _feed(VotePipeline(IntegrityConfig(sweep_every=1e12)), events)
    often_p = VotePipeline(IntegrityConfig(sweep_every=1.0, sweep_min_votes=1))
    often = _feed(often_p, events)
    assert often[0] == never[0]
    assert often[1] == never[1]


def test_idle_targets_paged_out_and_back_in_keep_one_vote_per_member() -> None:
    events = [e for e in mixed(6).events if isinstance(e, Vote)]
    p = VotePipeline()
    p.decide_batch(events)
    before = {t.target: t for t in p.tallies()}
    stored = {t: list(p.standing_votes(t)) for t in before}  # the consumer's ballots table
    gone = p.evict_idle_targets(0.0)
    assert gone and not any(p.is_resident(t) for t in gone)
    for t in gone:
        p.admit_target(t, 0, stored[t])
    assert {t.target: t for t in p.tallies()} == before
    assert p.decide_batch(events) == []  # everything again: all duplicates


def test_decisions_do_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    """Determinism across processes: no set or hash order leaks into decisions or revisions."""
    s = mixed(7)
    votes = tmp_path / "votes.csv"
    rows = ["vote_id,voter,target,target_author,value,at,origin,device"]
    rows += [f"{v.vote_id},{v.voter},{v.target},{v.target_author or ''},{v.value},{v.at!r},{v.origin or ''},{v.device or ''}" for v in s.events if isinstance(v, Vote)]
    votes.write_text("\n".join(rows) + "\n")
    edges = tmp_path / "edges.csv"
    edges.write_text("a,b\nm0,m7\n")
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"decisions-{seed}.csv"
        subprocess.run(
            [sys.executable, "-m", "services.voting.integrity.replay", "--votes", str(votes), "--graph", str(edges), "--out", str(out)],
            cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, check=True, capture_output=True,
        )
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    assert "lockstep_ring" in outs[0]


def test_co_vote_and_reciprocity_counters_stay_within_their_capacity() -> None:
    p = VotePipeline(IntegrityConfig(lockstep_pair_capacity=200))
    votes = [Vote(f"v{i}", f"m{i % 300}", f"t{i // 6}", f"a{i // 6 % 50}", 1, 1.7e9 + i * 30.0) for i in range(6000)]
    p.decide_batch(votes)
    assert len(p.rings.pairs) < 200 and len(p.rings.recip) < 200
