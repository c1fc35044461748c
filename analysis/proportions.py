"""Confidence intervals of success rates, and of the difference between two, honest near 0 and 1.

Episode outcomes are successes out of trials. A normal (Wald) interval collapses to a point at 0 %
and 100 % and covers too little near them; Wilson's score interval does not (Wilson 1927), and
Newcombe's hybrid score interval (Newcombe 1998, method 10) builds the interval of a difference
of two independent rates from the two Wilson intervals.
"""

from __future__ import annotations

import math

#: Normal quantile of a two-sided 95 % interval.
Z95 = 1.959964


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a success probability from ``successes`` out of ``trials``."""
    if trials < 1:
        raise ValueError("a Wilson interval needs at least one trial")
    rate, spread = successes / trials, z * z / trials
    centre = (rate + spread / 2) / (1 + spread)
    half = z / (1 + spread) * math.sqrt(rate * (1 - rate) / trials + spread / (4 * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(successes: int, trials: int, base_successes: int, base_trials: int,
                        z: float = Z95) -> tuple[float, float]:
    """Newcombe's interval of ``successes / trials - base_successes / base_trials`` (independent samples)."""
    rate, base = successes / trials, base_successes / base_trials
    low, high = wilson_interval(successes, trials, z)
    base_low, base_high = wilson_interval(base_successes, base_trials, z)
    difference = rate - base
    return (difference - math.hypot(rate - low, base_high - base),
            difference + math.hypot(high - rate, base - base_low))
