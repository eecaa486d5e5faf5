"""One vote per member per target, and tallies that follow every decision and revision."""

from __future__ import annotations

import random

import pytest

from services.voting.integrity import Decision, IntegrityConfig, Vote, VotePipeline
from tests.unit.voting.stream import T0, Stream, mixed


def _tally(p: VotePipeline, target: str) -> tuple[int, float, int, int]:
    t = p.tally(target)
    return t.raw, t.trusted, t.ups, t.downs


def test_a_change_replaces_the_earlier_vote() -> None:
    p = VotePipeline()
    p.decide(Vote("1", "ann", "t", "zed", 1, T0))
    d = p.decide(Vote("2", "ann", "t", "zed", -1, T0 + 60))
    assert d is not None and d.previous_value == 1 and d.value == -1
    assert _tally(p, "t") == (-1, -1.0, 0, 1)


def test_a_repeat_changes_nothing_and_yields_no_decision() -> None:
    p = VotePipeline()
    p.decide(Vote("1", "ann", "t", "zed", 1, T0))
    assert p.decide(Vote("2", "ann", "t", "zed", 1, T0 + 60)) is None
    assert _tally(p, "t") == (1, 1.0, 1, 0)
    assert p.counters.repeats == 1
    assert p.standing_vote("t", "ann").vote_id == "1"  # type: ignore[union-attr]


def test_a_clear_removes_the_vote_and_a_late_older_vote_cannot_bring_it_back() -> None:
    p = VotePipeline()
    p.decide(Vote("1", "ann", "t", "zed", 1, T0))
    p.decide(Vote("2", "bob", "t", "zed", 1, T0 + 1))
    cleared = p.decide(Vote("3", "ann", "t", "zed", 0, T0 + 60))
    assert cleared is not None and cleared.value == 0 and cleared.previous_value == 1
    assert _tally(p, "t") == (1, 1.0, 1, 0)
    assert p.decide(Vote("0", "ann", "t", "zed", -1, T0 + 30)) is None  # cast before the clear, delivered after
    assert _tally(p, "t") == (1, 1.0, 1, 0)


def test_a_redelivered_vote_changes_nothing() -> None:
    p = VotePipeline()
    first = Vote("1", "ann", "t", "zed", 1, T0)
    p.decide(first)
    p.decide(Vote("2", "ann", "t", "zed", -1, T0 + 60))
    assert p.decide(first) is None  # Kafka redelivers the whole batch after a crash
    assert p.decide(Vote("2", "ann", "t", "zed", -1, T0 + 60)) is None
    assert _tally(p, "t") == (-1, -1.0, 0, 1)
    assert p.counters.duplicates == 2


def test_a_whole_batch_redelivered_leaves_every_tally_as_it_was() -> None:
    events = mixed(3).events
    votes = [e for e in events if isinstance(e, Vote)]
    p = VotePipeline()
    list(p.run(events))
    before = sorted(p.tallies())
    assert p.decide_batch(votes[100:400]) == []
    assert sorted(p.tallies()) == before


def test_votes_are_ordered_by_time_then_id_not_by_arrival() -> None:
    p = VotePipeline()
    p.decide(Vote("b", "ann", "t", "zed", -1, T0 + 10))
    assert p.decide(Vote("a", "ann", "t", "zed", 1, T0 + 10)) is None  # same instant, smaller id: older
    assert p.decide(Vote("c", "ann", "t", "zed", 1, T0 + 10)) is not None
    assert _tally(p, "t")[0] == 1


def test_drain_reports_absolute_tallies_of_touched_targets_once() -> None:
    p = VotePipeline()
    p.decide_batch([Vote("1", "ann", "t", "zed", 1, T0), Vote("2", "bob", "t", "zed", 1, T0 + 1), Vote("3", "cy", "u", "zed", -1, T0 + 2)])
    changes = p.drain()
    assert {t.target: (t.raw, t.ups, t.downs) for t in changes.tallies} == {"t": (2, 2, 0), "u": (-1, 0, 1)}
    assert p.drain().tallies == []


def test_revisions_flow_into_the_tallies() -> None:
    s = Stream()
    s.post("post", "author")
    friends = [f"f{i}" for i in range(5)]
    for f in friends:
        s.connect("author", f, "import", at=T0 - 100 * 86400)
    for f in friends:
        s.at(120).vote(f, "post", "author")
    p = VotePipeline()
    decisions = list(p.run(s.events))
    assert [d.outcome for d in decisions[:3]] == ["counted"] * 3  # not a burst yet
    changes = p.drain()
    assert {r.voter for r in changes.revisions} == set(friends[:3])
    assert all(r.outcome == "not_counted" and r.previous_outcome == "counted" for r in changes.revisions)
    (tally,) = [t for t in changes.tallies if t.target == "post"]
    assert (tally.raw, tally.trusted, tally.not_counted) == (5, 0.0, 5)


def _sum_over_standing(p: VotePipeline) -> list[tuple[str, float, float]]:
    return [(t.target, t.trusted, s) for t in p.tallies() if t.trusted != (s := sum(d.value * d.weight for d in p.standing_votes(t.target)))]


@pytest.mark.parametrize(("n_targets", "n_voters", "seconds_apart"), [(40, 120, 0.001), (3, 10, 2.0), (30, 400, 20.0)], ids=["velocity", "small-crowd", "human"])
def test_the_trusted_score_is_always_the_sum_over_standing_votes(n_targets: int, n_voters: int, seconds_apart: float) -> None:
    """Even when a finding revises the very vote a member is replacing (velocity run-up, rings)."""
    for seed in range(4):
        rnd = random.Random(seed)
        votes = [
            Vote(f"v{i}", f"m{rnd.randrange(n_voters)}", f"t{rnd.randrange(n_targets)}", "author", rnd.choice((1, 1, 1, -1, -1, 0)),
                 T0 + i * seconds_apart, f"o{i % 97}", "d1")
            for i in range(1500)
        ]
        p = VotePipeline()
        for i in range(0, len(votes), 20):
            p.decide_batch(votes[i : i + 20])
            p.drain()
        assert _sum_over_standing(p) == []


def test_weights_are_binary_fractions_so_trusted_scores_are_exact() -> None:
    with pytest.raises(ValueError, match="multiples of 1/64"):
        IntegrityConfig(probation_weight=0.3)


def test_a_decision_names_its_vote() -> None:
    d = VotePipeline().decide(Vote("v9", "ann", "t", "zed", 1, T0))
    assert d == Decision("v9", "ann", "t", 1, "counted", 1.0, (), T0, 0)
