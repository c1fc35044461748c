"""Intervals of success rates against published values."""

from __future__ import annotations

import pytest

from analysis.proportions import difference_interval, wilson_interval


@pytest.mark.parametrize("successes, trials, expected", [
    (8, 10, (0.4902, 0.9433)), (0, 10, (0.0, 0.2775)), (10, 10, (0.7225, 1.0)), (50, 100, (0.4038, 0.5962)),
])
def test_wilson_interval_matches_known_values(successes, trials, expected):
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("a, n, b, m, expected", [  # Newcombe 1998, Table II, method 10
    (56, 70, 48, 80, (0.0524, 0.3339)), (9, 10, 3, 10, (0.1705, 0.8090)), (5, 56, 0, 29, (-0.0381, 0.1926)),
])
def test_difference_interval_matches_newcombes_examples(a, n, b, m, expected):
    assert difference_interval(a, n, b, m) == pytest.approx(expected, abs=1e-4)
