"""A path-integration pre-training's output (``python -m brain.pretrain_paths --out DIR``) read back for its page.

The pre-training measured its grid units itself, so its directory holds measures, not a recording:
``cells.json`` (per network, trained and untrained: gridness of every unit, the shuffle thresholds,
shares, spacing and orientation, held-out losses; the settings), ``cells.npz`` (rate maps and
autocorrelograms of both networks), ``losses.csv`` (one row per update) and, from runs that wrote it,
``grid_over_training.csv`` (the shares of grid units measured before, during and after training). Everything
is checked
here, so that a missing or damaged file is one :class:`~analysis.report.AnalysisError` naming the
file and the field, never a traceback on the page.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import numpy as np

from analysis.report import AnalysisError
from brain.pretrain_paths import GridReport, PathSettings, covered_square

#: The file that marks a pre-training output, and the two more its page reads.
MEASURES_FILE, ARRAYS_FILE, LOSSES_FILE = "cells.json", "cells.npz", "losses.csv"
#: The measures over training (absent from outputs written before it was).
OVER_TRAINING_FILE = "grid_over_training.csv"
#: The networks measured, the control last.
NETWORKS = ("trained", "untrained")
#: Columns of ``losses.csv`` that are not losses.
PROGRESS_COLUMNS = ("update", "seconds", "samples")


def is_pretraining(path: Path) -> bool:
    """Whether ``path`` is a directory that ``brain.pretrain_paths`` wrote (it holds ``cells.json``)."""
    return path.is_dir() and (path / MEASURES_FILE).is_file()


def redirect(path: Path) -> None:
    """Refuse a pre-training output, or a file of one, where a run or a recording is expected, naming the command
    that draws it."""
    folder = path if path.is_dir() else path.parent
    if is_pretraining(folder):
        raise AnalysisError(f"{path}: the output of python -m brain.pretrain_paths, not a training run or a "
                            f"recording; its page: python -m analysis.cells {folder}")


@dataclass(frozen=True)
class Network:
    """The measures of one network's grid units, with the maps they were taken from."""

    name: str
    report: GridReport
    rate_maps: np.ndarray  # [units, bins, bins]
    autocorrelograms: np.ndarray  # [units, 2 bins - 1, 2 bins - 1]

    @property
    def gridness(self) -> np.ndarray:
        return np.asarray(self.report.gridness, dtype=float)

    @property
    def own_thresholds(self) -> np.ndarray | None:
        """Each unit's 95th percentile of its own shuffles, ``[units]`` (None: the file predates them)."""
        return None if self.report.thresholds is None else np.asarray(self.report.thresholds, dtype=float)

    def passing(self) -> dict[str, np.ndarray]:
        """Units above each threshold: ``"pooled"`` (all units' shuffles) and, where stored, ``"unit"`` (their own)."""
        thresholds = {"pooled": self.report.pooled_threshold, "unit": self.own_thresholds}
        with np.errstate(invalid="ignore"):
            return {key: self.gridness > value for key, value in thresholds.items() if value is not None}


@dataclass(frozen=True)
class Pretraining:
    """A pre-training output: its settings, how long it trained, its loss curves and both networks."""

    path: Path
    settings: PathSettings
    updates: int
    training_seconds: float
    losses: dict[str, np.ndarray]  # column of losses.csv -> one value per update
    networks: dict[str, Network]
    over_training: dict[str, np.ndarray] | None  # column of grid_over_training.csv -> one value per measure

    @property
    def bin_size(self) -> float:
        x_min, x_max, _, _ = covered_square()
        return (x_max - x_min) / self.settings.bins

    def centres(self) -> np.ndarray:
        """Rate-map bin centres along x (and z), metres."""
        x_min, _, _, _ = covered_square()
        return x_min + self.bin_size * (np.arange(self.settings.bins) + 0.5)


def _fields(cls, values, where: str) -> dict:
    """``values`` checked to be a mapping with exactly the fields ``cls`` takes (its defaults may be left out)."""
    if not isinstance(values, dict):
        raise AnalysisError(f"{where}: expected a mapping, found {type(values).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = sorted(name for name in required if name not in values)
    if unknown or missing:
        what = f"lacks {', '.join(missing)}" if missing else f"has unknown fields {', '.join(unknown)}"
        raise AnalysisError(f"{where} {what}: not written by this version of python -m brain.pretrain_paths; "
                            f"rerun it")
    return values


def _report(data: dict, name: str, path: Path) -> GridReport:
    where = f"{path / MEASURES_FILE}: {name!r}"
    report = GridReport(**_fields(GridReport, data.get(name), where))
    if not isinstance(report.units, int) or report.units < 1:
        raise AnalysisError(f"{where}: 'units' should be a positive count, found {report.units!r}")
    for key in ("gridness", "thresholds"):
        values = getattr(report, key)
        if values is not None and (not isinstance(values, list) or len(values) != report.units):
            raise AnalysisError(f"{where}: {key!r} should list {report.units} units (its 'units')")
    if len(report.spacing_m) != len(report.orientation_deg):
        raise AnalysisError(f"{where}: 'spacing_m' and 'orientation_deg' differ in length")
    return report


def _arrays(path: Path, name: str, report: GridReport, bins: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path / ARRAYS_FILE) as arrays:
            maps, correlograms = arrays[f"{name}_rate_maps"], arrays[f"{name}_autocorrelograms"]
    except KeyError as error:
        raise AnalysisError(f"{path / ARRAYS_FILE}: no array {error}; rerun python -m brain.pretrain_paths") from None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise AnalysisError(f"{path / ARRAYS_FILE} is damaged ({error}); rerun python -m brain.pretrain_paths") \
            from None
    lags = 2 * bins - 1
    for array, shape in ((maps, (report.units, bins, bins)), (correlograms, (report.units, lags, lags))):
        if array.shape != shape:
            raise AnalysisError(f"{path / ARRAYS_FILE}: {name} arrays of shape {array.shape}, expected {shape} "
                                f"({report.units} units, --bins {bins} in {MEASURES_FILE})")
    return maps, correlograms


def _columns(file: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The columns of a CSV file that ``brain.pretrain_paths`` wrote, ``required`` ones checked."""
    try:
        with open(file, newline="") as f:
            rows = list(csv.DictReader(f))
        columns = {key: np.array([float(row[key]) for row in rows]) for key in (rows[0] if rows else ())}
    except (TypeError, ValueError) as error:
        raise AnalysisError(f"{file} is damaged ({error}); rerun python -m brain.pretrain_paths") from None
    missing = [key for key in required if key not in columns]
    if missing:
        raise AnalysisError(f"{file}: no column {missing[0]!r} (or no row at all); rerun python -m "
                            f"brain.pretrain_paths")
    return columns


def read_pretraining(path: Path) -> Pretraining:
    """The output ``brain.pretrain_paths`` wrote to ``path``, every file checked."""
    for name in (MEASURES_FILE, ARRAYS_FILE, LOSSES_FILE):
        if not (path / name).is_file():
            raise AnalysisError(f"{path}: no {name}; a path-integration pre-training writes {MEASURES_FILE}, "
                                f"{ARRAYS_FILE} and {LOSSES_FILE} (python -m brain.pretrain_paths --out {path})")
    try:
        data = json.loads((path / MEASURES_FILE).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AnalysisError(f"{path / MEASURES_FILE} is not JSON ({error}); rerun python -m brain.pretrain_paths") \
            from None
    keys = ("settings", "updates", "training_seconds", *NETWORKS)
    if not isinstance(data, dict) or any(key not in data for key in keys):
        raise AnalysisError(f"{path / MEASURES_FILE} is not the output of python -m brain.pretrain_paths (it needs "
                            f"{', '.join(map(repr, keys))})")
    settings = PathSettings(**_fields(PathSettings, data["settings"], f"{path / MEASURES_FILE}: 'settings'"))
    networks = {}
    for name in NETWORKS:
        report = _report(data, name, path)
        networks[name] = Network(name, report, *_arrays(path, name, report, settings.bins))
    if networks["trained"].report.units != networks["untrained"].report.units:
        raise AnalysisError(f"{path / MEASURES_FILE}: the trained and the untrained region have different unit "
                            f"counts; rerun python -m brain.pretrain_paths")
    over_training = _columns(path / OVER_TRAINING_FILE, (*PROGRESS_COLUMNS, "share_pooled", "share_unit")) \
        if (path / OVER_TRAINING_FILE).is_file() else None
    return Pretraining(path, settings, int(data["updates"]), float(data["training_seconds"]),
                       _columns(path / LOSSES_FILE, (*PROGRESS_COLUMNS, "loss")), networks, over_training)
