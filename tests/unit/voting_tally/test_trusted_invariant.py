"""What the tally consumer relies on from the decision pipeline: the trusted score it reports for a
target is Σ value × weight over that target's standing votes — the same number the consumer gets back
when it pages the target in from the stored ballots after a restart. If it is not, a target's trusted
score depends on when the consumer last restarted."""

from __future__ import annotations

import random
import uuid

import pytest

from services.voting.integrity import Vote, VotePipeline


def _votes(n: int, n_targets: int, n_voters: int, seconds_apart: float, seed: int = 6) -> list[Vote]:
    rnd = random.Random(seed)
    targets = [str(uuid.uuid4()) for _ in range(n_targets)]
    voters = [str(uuid.uuid4()) for _ in range(n_voters)]
    author = str(uuid.uuid4())
    out = []
    for i in range(n):
        target = targets[min(int(rnd.paretovariate(1.0)) - 1, len(targets) - 1)]
        out.append(Vote(str(uuid.uuid4()), rnd.choice(voters), target, author, rnd.choice((1, 1, 1, -1, -1, 0)), 1.7e9 + i * seconds_apart,
                        f"o{i % 97}", "d1"))
    return out


def _drift(votes: list[Vote]) -> list[tuple[str, float, float]]:
    p = VotePipeline()
    for i in range(0, len(votes), 20):
        p.decide_batch(votes[i:i + 20], 0)
        p.drain()
    return [(t.target, t.trusted, s) for t in p.tallies() if t.trusted != (s := sum(d.value * d.weight for d in p.standing_votes(t.target)))]


def test_trusted_score_is_the_sum_over_standing_votes_in_a_large_crowd_at_a_human_pace() -> None:
    assert _drift(_votes(6000, 40, 2000, 2.0)) == []


@pytest.mark.parametrize(("n_targets", "n_voters", "seconds_apart"), [(40, 120, 0.001), (3, 10, 2.0)], ids=["velocity", "small-crowd"])
def test_trusted_score_is_the_sum_over_standing_votes_when_revisions_hit_standing_votes(n_targets: int, n_voters: int, seconds_apart: float) -> None:
    assert [_drift(_votes(1500, n_targets, n_voters, seconds_apart, seed)) for seed in range(6)] == [[]] * 6
