"""The ranking formulas against values worked out by hand from their published definitions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from services.content import ranking

REDDIT_EPOCH = datetime(2005, 12, 8, 7, 46, 43, tzinfo=UTC)


@pytest.mark.parametrize(("score", "hours_after_epoch", "expected"), [
    (0, 0, 0.0),
    (1, 12.5, 1.0),          # log10(1) = 0, 45,000 s = 12.5 h -> +1
    (100, 12.5, 3.0),        # log10(100) = 2
    (-100, 12.5, -1.0),      # sign -1
    (10, 25, 3.0),
    (-1, 0, 0.0),
])
def test_hot(score: int, hours_after_epoch: float, expected: float) -> None:
    assert ranking.hot(score, REDDIT_EPOCH + timedelta(hours=hours_after_epoch)) == pytest.approx(expected, abs=1e-7)


def test_hot_trades_ten_times_the_score_for_twelve_and_a_half_hours() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert ranking.hot(10, t) == pytest.approx(ranking.hot(100, t - timedelta(hours=12.5)), abs=1e-6)


def test_best_is_the_wilson_lower_bound() -> None:
    z = 1.281551565545
    # one up-vote: phat = 1, n = 1 -> (1 + z²/2 - z·sqrt(z²/4)) / (1 + z²) = 1 / (1 + z²)
    assert ranking.best(1, 0) == pytest.approx(1 / (1 + z * z))
    assert ranking.best(0, 0) == 0.0
    # 10 ups out of 10 beats 1 up out of 1, and 60/100 beats 6/10 (same share, more evidence)
    assert ranking.best(10, 0) > ranking.best(1, 0)
    assert ranking.best(60, 40) > ranking.best(6, 4)
    assert 0 <= ranking.best(3, 97) < ranking.best(97, 3) < 1


@pytest.mark.parametrize(("ups", "downs", "expected"), [
    (10, 5, 15 ** 0.5), (5, 10, 15 ** 0.5), (10, 10, 20.0), (100, 1, 101 ** 0.01), (0, 10, 0.0), (10, 0, 0.0),
])
def test_controversial(ups: int, downs: int, expected: float) -> None:
    assert ranking.controversial(ups, downs) == pytest.approx(expected)


def test_rising_divides_by_age_with_gravity() -> None:
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert ranking.rising(10, at - timedelta(hours=2), at) == pytest.approx(10 / 4 ** 1.8)
    assert ranking.rising(10, at, at) == pytest.approx(10 / 2 ** 1.8)
    assert math.isclose(ranking.rising(0, at, at), 0.0)


def test_windows() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert ranking.window_start("day", at) == at - timedelta(days=1)
    assert ranking.window_start("all", at).year == 1970
