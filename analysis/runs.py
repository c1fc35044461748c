"""Run directories (layout in ``brain/training/rundir.py``) read into arrays, with clear errors for unusable ones."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from analysis.pretraining import redirect
from analysis.report import AnalysisError
from brain.training.config import TrainConfig
from brain.training.rundir import EPISODE_FIELDS, RunDirError, read_episodes
from brain.training.train import CONFIG_FILE, CONNECTOME_FILE


@dataclass(frozen=True)
class Episodes:
    """``episodes.csv`` as columns, in the order the trainer received the episodes."""

    time: np.ndarray
    worker: np.ndarray
    task: np.ndarray
    steps: np.ndarray
    ticks: np.ndarray
    returns: np.ndarray
    success: np.ndarray
    global_step: np.ndarray

    def __len__(self) -> int:
        return len(self.task)

    def where(self, mask: np.ndarray) -> "Episodes":
        """The episodes where ``mask`` holds, order kept."""
        return Episodes(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    def tasks(self) -> list[str]:
        """Task ids present, in task order (``1-2`` before ``1-10``)."""
        return sorted(set(self.task.tolist()), key=task_order)

    def workers(self) -> list[int]:
        return sorted(set(self.worker.tolist()))


def task_order(task: str) -> list[tuple[int, int | str]]:
    """Sort key for task ids: numeric parts as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in task.split("-")]


def _parse(rows: list[dict[str, str]]) -> Episodes:
    """Typed columns; a row cut short (a crash while writing it: a column of the file's header left empty) is left
    out. Files from before the ``env`` column have a header without it."""
    whole = [row for row in rows if all(row.get(name) not in (None, "") for name in EPISODE_FIELDS if name in row)]
    column = lambda name, kind: np.array([kind(row[name]) for row in whole], dtype=kind)
    return Episodes(time=column("time", float), worker=column("worker", int),
                    task=np.array([row["task"] for row in whole], dtype=str), steps=column("steps", int),
                    ticks=column("ticks", int), returns=column("return", float),
                    success=np.array([row["success"].strip().lower() in ("true", "1", "1.0") for row in whole]),
                    global_step=column("global_step", int))


@dataclass(frozen=True)
class Run:
    """One run directory: where it is, its label in figures, its episodes (all, or those by step ``cut``)."""

    path: Path
    label: str
    episodes: Episodes
    total_steps: int  # environment steps of the whole run when its last finished episode ended
    cut: int | None = None  # environment step the run is seen at (:meth:`until`); None: all of it

    def until(self, step: int) -> "Run":
        """The run as it stood at environment step ``step``: only the episodes that had ended by then."""
        return replace(self, episodes=self.episodes.where(self.episodes.global_step <= step), cut=step)

    def connectome_name(self) -> str:
        """The ``name:`` of the connectome the run trained, with its lesions (``wba, ca3=silence``): runs of one
        connectome trained with and without ``--lesion`` differ only there."""
        try:
            data = yaml.safe_load(self._file(CONNECTOME_FILE).read_text()) or {}
        except yaml.YAMLError as error:
            raise AnalysisError(f"{self.path / CONNECTOME_FILE}: not readable YAML ({error})") from error
        if not isinstance(data, dict) or not data.get("name"):
            raise AnalysisError(f"{self.path / CONNECTOME_FILE}: no `name:` field")
        lesions = data.get("lesions") if isinstance(data.get("lesions"), dict) else {}
        return ", ".join([str(data["name"]), *(f"{target}={mode}" for target, mode in lesions.items())])

    def config(self) -> TrainConfig:
        try:
            return TrainConfig.from_yaml(self._file(CONFIG_FILE))
        except ValueError as error:  # names the file already
            raise AnalysisError(str(error)) from error
        except (TypeError, yaml.YAMLError) as error:
            raise AnalysisError(f"{self.path / CONFIG_FILE}: {error}") from error

    def _file(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise RunDirError(f"{self.path}: no {name} here; give a directory that python -m brain.run wrote")
        return path


def labels(paths: Sequence[Path]) -> list[str]:
    """Shortest unique path tails as run names: ``a/1-1`` and ``b/1-1`` stay apart, ``runs/t13`` is ``t13``."""
    parts = [path.resolve().parts for path in paths]
    if len(set(parts)) < len(parts):
        raise AnalysisError(f"a run directory is given twice: {' '.join(map(str, paths))}")
    depth = 1
    while len({p[-depth:] for p in parts}) < len(parts):
        depth += 1
    return ["/".join(p[-depth:]) for p in parts]


def load_run(path: Path, label: str) -> Run:
    """Read a run directory; an error names what is missing and how to get it."""
    if not path.is_dir():
        raise RunDirError(f"{path}: no such run directory")
    redirect(path)
    if not (path / "episodes.csv").is_file():
        raise RunDirError(f"{path}: no episodes.csv here; give a directory that python -m brain.run wrote")
    try:
        episodes = _parse(read_episodes(path))
    except ValueError as error:
        raise AnalysisError(f"{path}/episodes.csv: a row that is not a number where one belongs ({error})") from error
    if not len(episodes):
        raise AnalysisError(f"{path}/episodes.csv: no finished episode yet; let the run train longer")
    return Run(path, label, episodes, int(episodes.global_step.max()))


def load_runs(paths: Sequence[Path]) -> list[Run]:
    return [load_run(path, label) for path, label in zip(paths, labels(paths))]


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (fewer at the start)."""
    totals = np.concatenate([[0.0], np.cumsum(values, dtype=float)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (totals[end] - totals[start]) / (end - start)
