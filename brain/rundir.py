"""The run directory: everything a run leaves behind, written so that nothing is lost.

Layout::

    runs/NAME/
      connectome.yaml      the resolved connectome (extends merged, lesions applied as data)
      config.yaml          the TrainConfig
      checkpoint.pt        weights, optimizer statistics, memory, counters, random state
      episodes.csv         one row per finished episode (flushed per row)
      tb/                  TensorBoard events (tensorboardX): global/* and worker<i>/*

Checkpoints are written to a temporary file and renamed over the old one (atomic on POSIX), so a
crash while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import torch

EPISODE_FIELDS = ("time", "worker", "task", "steps", "ticks", "return", "success", "global_step", "env")
CHECKPOINT = "checkpoint.pt"


class RunDirError(Exception):
    """A run directory that cannot be used as asked (missing, or not a run directory)."""


def save_checkpoint(run_dir: Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``checkpoint.pt`` (temporary file + rename)."""
    path = run_dir / CHECKPOINT
    tmp = path.with_suffix(".pt.tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """Read ``checkpoint.pt``; a clear error if the directory holds none."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise RunDirError(f"{run_dir}: no {CHECKPOINT} here. Is this a run directory? "
                          f"Start a run with: python -m brain.run --out {run_dir}")
    return torch.load(path, weights_only=False)


class EpisodeTable:
    """Append-only CSV of finished episodes; each row is flushed so a crash loses nothing.

    A resumed run appends in the columns the file already has (a run from before the ``env``
    column keeps its header, and its rows stay aligned with it).
    """

    def __init__(self, path: Path):
        exists = path.is_file() and path.stat().st_size > 0
        fields = EPISODE_FIELDS
        if exists:
            with open(path, newline="") as handle:
                fields = tuple(next(csv.reader(handle), EPISODE_FIELDS))
        self._handle = open(path, "a", newline="")
        self._writer = csv.DictWriter(self._handle, fieldnames=fields, extrasaction="ignore")
        if not exists:
            self._writer.writeheader()

    def append(self, row: dict[str, Any]) -> None:
        self._writer.writerow(row)
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def read_episodes(run_dir: Path) -> list[dict[str, str]]:
    """Rows of ``episodes.csv`` (strings, as written)."""
    path = run_dir / "episodes.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
