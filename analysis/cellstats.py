"""Cell-level measures of recorded units, pooled over episodes of one maze, each against a shuffled baseline.

For every unit of a port: its rate map, spatial information, gridness and head-direction mean
vector length (:mod:`analysis.metrics`), and whether each beats the shuffles; for the port, the
share of such units and the population sparseness.

Artificial units are not firing rates: many are signed (tanh, linear read-outs), and the rate
measures refuse negative values. Each unit's activity is therefore **shifted by its own minimum
over the pooled steps**, so that its least active moment reads zero and the shape of its tuning
is kept (rectifying would throw the negative half away, and with it the tuning of units that
are mostly negative). Gridness is a correlation and does not change with the shift; spatial
information, vector length and sparseness do, and the shift is the smallest one that makes them
defined. The shuffles shift activity in time against the trajectory (at least a tenth of the
pooled steps); a unit counts as significant when its measure exceeds the ``percentile`` (95) of
its own shuffles, and its effect size is its z-score against them. The null pooled over the port's
units and shuffles (the usual threshold for grid cells: 20 shuffles of 256 units give 5,120 null
values) is the option ``threshold="pooled"``; it lets a unit whose measure varies widely by chance
pass a threshold that calmer units set.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from analysis.mazemap import Extent, rate_map_extent
from analysis.metrics import (RateMap, Shuffled, direction_tuning, false_positive_rate, gridness, mean_vector_length,
                              population_sparseness, rate_map, shuffled_baseline, spatial_information)
from analysis.recordings import maze_of
from analysis.report import AnalysisError
from brain.recording import Recording

#: Measure name -> what it is, as tables and titles say it.
MEASURES = {"information": "spatial information (bits)", "gridness": "gridness",
            "direction": "head-direction vector length"}
#: A rate map needs this many bins along x and along z for a gridness score to mean anything.
MIN_GRID_BINS = 6
#: Heading bins of 20 degrees: the simulator turns in 10-degree steps, so each bin holds a heading at its
#: centre; with 10-degree bins every heading would sit on a bin edge and rounding would leave bins empty.
DIRECTION_BINS = 18
#: Fewest pooled steps for a shuffled baseline (shifts of at least a tenth, at most T minus that).
MIN_STEPS = 20
#: Whose shuffles a unit's measure is compared with -> how the pages say it.
THRESHOLDS = {"unit": "its own shuffles", "pooled": "the port's shuffles pooled over its units"}


@dataclass(frozen=True)
class Settings:
    """How the measures are taken (``python -m analysis.cells --help`` documents each)."""

    bin_size: float = 1.0
    smoothing: float = 1.0
    shuffles: int = 20
    percentile: float = 95.0
    seed: int = 0
    threshold: str = "unit"  # a key of THRESHOLDS

    def criterion(self) -> str:
        """What a significant unit beats, as the pages say it, with the chance of an untuned unit passing."""
        chance = (f"an untuned unit passes with probability {false_positive_rate(self.percentile, self.shuffles):.1%}"
                  if self.threshold == "unit" else "not calibrated per unit")
        return f"the {self.percentile:g}th percentile of {THRESHOLDS[self.threshold]} ({self.shuffles} shuffles; {chance})"


@dataclass(frozen=True)
class CellType:
    """A classic cell type: the port it is looked for in and the measure that defines it."""

    name: str
    port: str
    measure: str


#: The cell types the ablation table compares between lesions.
CELL_TYPES = (CellType("place_cells", "ca1.place_cells", "information"),
              CellType("grid_cells", "entorhinal.grid", "gridness"),
              CellType("head_direction_cells", "entorhinal.head_direction", "direction"))


@dataclass(frozen=True)
class Pooled:
    """Episodes of one maze laid end to end: where the agent was, and which episodes they were."""

    maze: str
    episodes: list[int]  # positions in the recording's index
    successes: int
    positions: np.ndarray  # [T, 2] (x, z)
    headings: np.ndarray  # [T]
    extent: Extent

    @property
    def steps(self) -> int:
        return len(self.headings)


def pool(recording: Recording, episodes: Sequence[int]) -> Pooled:
    """The episodes at ``episodes`` (index positions, all in one maze) pooled for the measures."""
    mazes = {maze_of(recording.index["task"][i].decode()) for i in episodes}
    names = sorted({maze for maze, _ in mazes})
    if len(names) != 1:
        raise AnalysisError(f"episodes of several mazes pooled ({', '.join(names)}); pool one maze at a time")
    pose = np.concatenate([recording.episode(i).pose for i in episodes]).astype(float)
    if len(pose) < MIN_STEPS:
        raise AnalysisError(f"{recording.path}: only {len(pose)} recorded steps in maze {names[0]}; cell measures "
                            f"need at least {MIN_STEPS} (record more episodes)")
    return Pooled(names[0], list(episodes), int(recording.index["success"][list(episodes)].sum()), pose[:, :2],
                  pose[:, 2], rate_map_extent(sorted(mazes), pose[:, :2]))


def shifted(values: np.ndarray) -> np.ndarray:
    """Activity ``[T, units]`` as float, each unit shifted to a zero minimum (its least active step reads 0)."""
    values = np.asarray(values, dtype=float)
    return values - values.min(axis=0, keepdims=True)


def pooled_activity(recording: Recording, pooled: Pooled, key: str) -> np.ndarray:
    """``[T, units]`` of ``region.port`` over the pooled episodes, shifted to a zero minimum per unit."""
    region, port = key.split(".", 1)
    return shifted(np.concatenate([recording.episode(i).activity(region, port) for i in pooled.episodes]))


def pooled_rewards(recording: Recording, pooled: Pooled) -> np.ndarray:
    """``[T]`` rewards received after each pooled step's action."""
    return np.concatenate([recording.episode(i).reward for i in pooled.episodes]).astype(float)


@dataclass(frozen=True)
class PortCells:
    """The measures of one port's units.

    Attributes:
        scores: measure -> observed values and shuffles, for the measures taken.
        thresholds: measure -> what each unit must exceed, ``[units]`` (:attr:`Settings.threshold`).
        skipped: measure -> why it was not taken (e.g. a maze too narrow for gridness).
    """

    key: str
    units: int
    maps: RateMap
    tuning: np.ndarray  # [units, bins]
    sparseness: float
    scores: dict[str, Shuffled] = field(default_factory=dict)
    thresholds: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def significant(self, measure: str) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.scores[measure].observed > self.thresholds[measure]

    def fraction(self, measure: str) -> float | None:
        """Share of units beating the shuffles, None when the measure was not taken."""
        return float(self.significant(measure).mean()) if measure in self.scores else None

    def effect(self, measure: str) -> np.ndarray:
        """Each unit's z-score against its own shuffles (NaN where they do not vary)."""
        return self.scores[measure].z_scores()


def _metric(measure: str, pooled: Pooled, settings: Settings) -> Callable[[np.ndarray], np.ndarray]:
    if measure == "direction":
        return lambda values: mean_vector_length(direction_tuning(pooled.headings, values, DIRECTION_BINS)[1])

    def on_maps(values: np.ndarray) -> np.ndarray:
        maps = rate_map(pooled.positions, values, pooled.extent, settings.bin_size, smoothing=settings.smoothing)
        return spatial_information(maps.rates, maps.occupancy) if measure == "information" else gridness(maps.rates)

    return on_maps


def _thresholds(baseline: Shuffled, settings: Settings) -> np.ndarray:
    with warnings.catch_warnings():  # a silent unit or port (a lesion) has an all-NaN null: never significant
        warnings.simplefilter("ignore", RuntimeWarning)
        return baseline.threshold(settings.percentile, pooled=settings.threshold == "pooled")


def measure_units(key: str, activity: np.ndarray, pooled: Pooled, settings: Settings,
                  measures: Sequence[str] = tuple(MEASURES)) -> PortCells:
    """Every measure in ``measures`` of the units of port ``key`` (activity ``[T, units]``, non-negative)."""
    maps = rate_map(pooled.positions, activity, pooled.extent, settings.bin_size, smoothing=settings.smoothing)
    _, tuning = direction_tuning(pooled.headings, activity, DIRECTION_BINS)
    cells = PortCells(key, activity.shape[1], maps, tuning,
                      population_sparseness(activity) if activity.shape[1] > 1 else float("nan"))
    for measure in measures:
        if measure == "gridness" and min(maps.occupancy.shape) < MIN_GRID_BINS:
            nz, nx = maps.occupancy.shape
            cells.skipped[measure] = (f"maze {pooled.maze} is {nx} x {nz} bins of {settings.bin_size:g} m; gridness "
                                      f"needs {MIN_GRID_BINS} in each direction")
            continue
        baseline = shuffled_baseline(_metric(measure, pooled, settings), activity, n_shuffles=settings.shuffles,
                                     seed=settings.seed)
        varying = np.ptp(activity, axis=0) > 0  # a constant unit is tuned to nothing: never significant
        if varying.any() and not np.isfinite(baseline.observed[varying]).any():
            cells.skipped[measure] = f"no unit has a finite {MEASURES[measure]}: the visited bins are no open 2-D area"
            continue
        cells.scores[measure] = baseline
        cells.thresholds[measure] = _thresholds(baseline, settings)
    return cells


def top_units(ports: Sequence[PortCells], measure: str, count: int) -> list[tuple[PortCells, int]]:
    """The ``count`` units with the highest ``measure`` over all ``ports`` (units without a value left out)."""
    ranked = [(float(port.scores[measure].observed[unit]), index, unit)
              for index, port in enumerate(ports) if measure in port.scores
              for unit in range(port.units) if np.isfinite(port.scores[measure].observed[unit])]
    ranked.sort(key=lambda item: -item[0])
    return [(ports[index], unit) for _, index, unit in ranked[:count]]


def cell_fractions(recording: Recording, episodes: Sequence[int], settings: Settings) -> dict[str, float | None]:
    """Share of significant units of each :data:`CELL_TYPES` entry; None where its port was not recorded."""
    pooled = pool(recording, episodes)
    return {cell.name: measure_units(cell.port, pooled_activity(recording, pooled, cell.port), pooled, settings,
                                     [cell.measure]).fraction(cell.measure)
            if cell.port in recording.ports else None for cell in CELL_TYPES}
