"""Percentile bootstrap intervals of a mean over episodes, and of the difference of two such means.

A probe trial's time share or crossing count is a number per episode, not a success out of
trials, so the binomial intervals of :mod:`analysis.proportions` do not apply; resampling the
episodes (Efron 1979) assumes nothing of the numbers' distribution (bounded, often skewed). The
resampling is seeded, so the same episodes always give the same interval.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Resamples of every interval: the interval's ends move by well under a percent point between seeds.
RESAMPLES = 10_000


def _means(values: Sequence[float], rng: np.random.Generator, resamples: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or not len(values):
        raise ValueError("a bootstrap interval needs at least one episode's value")
    return values[rng.integers(len(values), size=(resamples, len(values)))].mean(axis=1)


def _percentiles(means: np.ndarray, level: float) -> tuple[float, float]:
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def mean_interval(values: Sequence[float], level: float = 0.95, resamples: int = RESAMPLES,
                  seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per episode).

    >>> [round(end, 2) for end in mean_interval([0.0, 1.0] * 50)]
    [0.4, 0.6]
    """
    return _percentiles(_means(values, np.random.default_rng(seed), resamples), level)


def mean_difference_interval(values: Sequence[float], base: Sequence[float], level: float = 0.95,
                             resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Interval of ``mean(values) - mean(base)``, the two samples of episodes resampled independently."""
    rng = np.random.default_rng(seed)
    return _percentiles(_means(values, rng, resamples) - _means(base, rng, resamples), level)
