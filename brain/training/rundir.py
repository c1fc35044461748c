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


#: What a run leaves before its first checkpoint, cleared when the directory is started again.
BEFORE_CHECKPOINT = ("episodes.csv", "recording.h5", CHECKPOINT + ".tmp")
#: Entries every checkpoint holds (:meth:`brain.training.trainer.Trainer.checkpoint`).
CHECKPOINT_KEYS = ("brain", "optimizer", "memory", "steps", "episodes", "totals", "recent", "generations", "rng")


class RunDirError(Exception):
    """A run directory that cannot be used as asked (missing, not a run directory, unwritable, a bad checkpoint)."""


def check_out_dir(run_dir: Path) -> None:
    """``--out`` must be a directory this user can create or write: not a file, not below a file.

    Checked before anything is written, so that a mistyped ``--out`` costs nothing.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"--out {run_dir} is a file, not a directory; choose a directory for the run "
                          f"(e.g. --out runs/{run_dir.stem or 'run'})")
    existing = next(parent for parent in (run_dir, *run_dir.absolute().parents) if parent.exists())
    if not existing.is_dir():
        raise RunDirError(f"--out {run_dir}: {existing} is a file, so no directory can be made below it; "
                          f"choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"--out {run_dir}: {existing} is not writable for you; choose a directory you may "
                          f"write (e.g. under your home directory)")


def make_run_dir(run_dir: Path) -> None:
    """Create ``run_dir`` (and its parents), any failure as one RunDirError."""
    check_out_dir(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirError(f"--out {run_dir}: cannot create it ({error.strerror}); choose another --out") from None


def has_checkpoint(run_dir: Path) -> bool:
    return (run_dir / CHECKPOINT).is_file()


def clear_before_checkpoint(run_dir: Path) -> list[str]:
    """Remove what a run that died before its first checkpoint left (episodes, recording); their names."""
    removed = []
    for name in BEFORE_CHECKPOINT:
        if (run_dir / name).is_file():
            (run_dir / name).unlink()
            removed.append(name)
    return removed


def save_checkpoint(run_dir: Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``checkpoint.pt`` (temporary file + rename)."""
    path = run_dir / CHECKPOINT
    tmp = path.with_suffix(".pt.tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(run_dir: Path, brain: torch.nn.Module | None = None) -> dict[str, Any]:
    """Read ``checkpoint.pt``; a RunDirError if there is none, it is damaged, or (with ``brain``) it fits another brain.

    A checkpoint fits ``brain`` when it holds a tensor of the same shape for every one of its weights and nothing else.
    """
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise RunDirError(f"{run_dir}: no {CHECKPOINT} here. Is this a run directory? "
                          f"Start a run with: python -m brain.run --out {run_dir}")
    try:
        payload = torch.load(path, weights_only=False)
    except Exception as error:  # torch.load raises many types for a truncated or foreign file
        raise RunDirError(f"{path} is damaged or not a checkpoint ({type(error).__name__}: {error}); restore it from a "
                          f"copy, or start a new run with another --out") from None
    missing = [key for key in CHECKPOINT_KEYS if not isinstance(payload, dict) or key not in payload]
    if missing:
        raise RunDirError(f"{path} is not a checkpoint of brain.run (it lacks {', '.join(missing)}); restore it from "
                          f"a copy, or start a new run with another --out")
    if brain is not None:
        _check_fits(path, payload["brain"], brain)
    return payload


def _check_fits(path: Path, stored: dict[str, Any], brain: torch.nn.Module) -> None:
    expected = brain.state_dict()
    missing = [key for key in expected if key not in stored]
    extra = [key for key in stored if key not in expected]
    wrong = [f"{key} {list(stored[key].shape)} (needs {list(value.shape)})" for key, value in expected.items()
             if key in stored and getattr(stored[key], "shape", None) != value.shape]
    if missing or extra or wrong:
        details = "; ".join(f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                            for what, keys in (("missing", missing), ("unexpected", extra), ("other shapes", wrong))
                            if keys)
        raise RunDirError(f"{path} was written by a brain of another connectome ({details}); evaluate or resume it "
                          f"with the connectome.yaml saved beside it, or start a new run with another --out")


def read_config(run_dir: Path):
    """The run's stored ``config.yaml`` as a TrainConfig; a RunDirError if it is missing or damaged."""
    import yaml

    from brain.errors import ConnectomeError
    from brain.training.config import TrainConfig

    path = run_dir / "config.yaml"
    if not path.is_file():
        raise RunDirError(f"{run_dir}: no config.yaml here; give a directory that python -m brain.run wrote")
    try:
        return TrainConfig.from_yaml(path)
    except ConnectomeError:
        raise  # a ConfigError or a YAML problem: names the file, line and setting already
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError) as error:
        raise RunDirError(f"{path} is damaged ({type(error).__name__}: {error}); restore it from a copy, or start a "
                          f"new run with another --out") from None


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
