"""Water-maze probe trials summarised over episodes: time in the platform's quadrant against chance, crossings
of the platform's site against the other quadrants' sites (``tasks.probe`` measures each trial).

Each episode gives one share and one count per quadrant, so the intervals are bootstrap intervals
over episodes (:mod:`analysis.bootstrap`), never over steps: a swim's successive positions are not
independent samples. Each measure has its control: the time share against chance (a quarter: the
four usual starts are symmetric about the quadrants), the platform's site against the mean of the
other three sites crossed in the same trials (a paired difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.bootstrap import mean_interval
from tasks.probe import QUADRANTS

#: The time share of the platform's quadrant expected of a swim that does not know where the platform was.
CHANCE = 1 / QUADRANTS


@dataclass(frozen=True)
class ProbeSummary:
    """Probe trials of one condition: means over episodes with bootstrap 95 % intervals."""

    episodes: int
    target_share: float
    target_interval: tuple[float, float]
    other_shares: tuple[float, ...]  # mean time share of each other quadrant (turned 90, 180, 270 degrees)
    crossings: float  # crossings of the platform's site per trial
    other_crossings: float  # crossings per trial of an other quadrant's site, on average over the three
    excess: float  # crossings - other_crossings: the paired effect
    excess_interval: tuple[float, float]


def probe_arrays(shares: np.ndarray, crossings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``shares`` and ``crossings`` as ``[episodes, 4]`` arrays, or a ValueError saying what is wrong."""
    shares, crossings = np.asarray(shares, dtype=float), np.asarray(crossings, dtype=float)
    if shares.ndim != 2 or shares.shape[1] != QUADRANTS or shares.shape != crossings.shape or not len(shares):
        raise ValueError(f"probe trials need [episodes, {QUADRANTS}] time shares and crossings, one row per "
                         f"episode; got shapes {shares.shape} and {crossings.shape}")
    return shares, crossings


def summarise(shares: np.ndarray, crossings: np.ndarray) -> ProbeSummary:
    """The summary of probe trials: ``shares`` and ``crossings`` ``[episodes, 4]``, the platform's quadrant first."""
    shares, crossings = probe_arrays(shares, crossings)
    excess = crossings[:, 0] - crossings[:, 1:].mean(axis=1)
    return ProbeSummary(len(shares), float(shares[:, 0].mean()), mean_interval(shares[:, 0]),
                        tuple(float(v) for v in shares[:, 1:].mean(axis=0)), float(crossings[:, 0].mean()),
                        float(crossings[:, 1:].mean()), float(excess.mean()), mean_interval(excess))


def text(summary: ProbeSummary) -> str:
    """The summary in a sentence, each measure beside its control."""
    low, high = summary.target_interval
    excess_low, excess_high = summary.excess_interval
    others = ", ".join(f"{share:.0%}" for share in summary.other_shares)
    return (f"time in the platform's quadrant {summary.target_share:.1%} [{low:.1%}, {high:.1%}] against chance "
            f"{CHANCE:.0%} (other quadrants {others}); crossings of the platform's site {summary.crossings:.2f} per "
            f"trial against {summary.other_crossings:.2f} at each other quadrant's site (difference "
            f"{summary.excess:+.2f} [{excess_low:+.2f}, {excess_high:+.2f}]); {summary.episodes} probe trials, "
            f"bootstrap 95 % intervals over trials")
