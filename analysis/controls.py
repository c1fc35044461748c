"""The recorded brain's units against untrained brains of the same connectome that saw the same observations.

Beating its own time-shifted shuffles says a unit's activity goes with the trajectory; it does not
say the brain learned it: units of an untrained brain looking along a corridor pass the shuffles too
(measured: 25-100 % of a port's units). So a unit of the recorded brain counts as **found** only when
it beats its own shuffles *and* its measure exceeds the ``percentile`` (95) of the untrained brains'
units of the same port and measure, pooled over the seeds (taken at the next value up, as the
shuffles' thresholds). A unit exchangeable with the untrained ones passes that with probability at
most ``1 - percentile / 100`` (5 %): the chance level of the share found.

Beside it, per port and measure: the untrained brains' own shares passing their shuffles and median
z-scores (what the shuffles alone would have claimed of a random network), each untrained seed held
out against the others (the control's calibration: near the chance level, or below, by
construction), and the effect size, the probability that a unit of the recorded brain scores above
one of an untrained brain (0.5: no difference; 1: every unit above every unit).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from analysis.cellstats import PortCells


def control_threshold(untrained: Sequence[np.ndarray], percentile: float) -> float:
    """The ``percentile`` of the untrained units' values pooled (finite ones; NaN when there are none)."""
    values = np.concatenate([np.asarray(v, dtype=float).ravel() for v in untrained]) if untrained else np.zeros(0)
    values = values[np.isfinite(values)]
    return float(np.percentile(values, percentile, method="higher")) if len(values) else float("nan")


def superiority(trained: np.ndarray, untrained: np.ndarray) -> float:
    """Probability that a trained value exceeds an untrained one, ties counted half (the area under the ROC
    curve, Mann-Whitney U over the product of the sample sizes); NaN without finite values on either side."""
    a, b = np.asarray(trained, dtype=float).ravel(), np.asarray(untrained, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not len(a) or not len(b):
        return float("nan")
    order = np.sort(b)
    below = np.searchsorted(order, a, side="left")
    equal = np.searchsorted(order, a, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(a) * len(b)))


def _median(values: np.ndarray) -> float:
    with warnings.catch_warnings():  # all NaN (a silent port): NaN, said as "-"
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(values))


@dataclass(frozen=True)
class Control:
    """One port of the recorded brain beside the same port of untrained brains (one :class:`PortCells` each)."""

    trained: PortCells
    untrained: tuple[PortCells, ...]
    percentile: float = 95.0

    @property
    def seeds(self) -> int:
        return len(self.untrained)

    def measured(self, measure: str) -> bool:
        """Whether the measure was taken on both brains (gridness is skipped on narrow mazes)."""
        return measure in self.trained.scores and all(measure in port.scores for port in self.untrained)

    def threshold(self, measure: str, leave_out: int | None = None) -> float:
        """What a unit must exceed: the ``percentile`` of the untrained units' measure (seed ``leave_out`` left out)."""
        return control_threshold([port.scores[measure].observed for index, port in enumerate(self.untrained)
                                  if index != leave_out], self.percentile)

    def found(self, measure: str) -> np.ndarray:
        """Units of the recorded brain that beat their own shuffles and the untrained brains' units."""
        with np.errstate(invalid="ignore"):
            return self.trained.significant(measure) & (self.trained.scores[measure].observed > self.threshold(measure))

    def fraction(self, measure: str) -> float:
        """Share of the recorded brain's units found (chance: ``1 - percentile / 100`` at most)."""
        return float(self.found(measure).mean())

    def untrained_fractions(self, measure: str) -> np.ndarray:
        """Per seed, the share of the untrained brain's units that beat their own shuffles."""
        return np.array([port.fraction(measure) for port in self.untrained])

    def untrained_effects(self, measure: str) -> np.ndarray:
        """Per seed, the median z-score of the untrained brain's units against their own shuffles."""
        return np.array([_median(port.effect(measure)) for port in self.untrained])

    def held_out(self, measure: str) -> np.ndarray:
        """Per seed, the share of its units found against the other seeds' units (empty with one seed): the
        control's own false-positive rate, at or below the chance level when the seeds are alike."""
        if self.seeds < 2:
            return np.zeros(0)
        shares = []
        for index, port in enumerate(self.untrained):
            with np.errstate(invalid="ignore"):
                passed = port.significant(measure) & (port.scores[measure].observed > self.threshold(measure, index))
            shares.append(float(passed.mean()))
        return np.array(shares)

    def effect(self, measure: str) -> float:
        """Probability that a recorded unit's measure exceeds an untrained unit's (0.5: none; :func:`superiority`)."""
        return superiority(self.trained.scores[measure].observed,
                           np.concatenate([port.scores[measure].observed for port in self.untrained]))
