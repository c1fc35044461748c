"""Reading a recording: an index of its episodes, and each episode's arrays read lazily::

    rec = open_run("runs/wba-1-3")                     # a run directory or an .h5 file
    rec.index[["episode", "task", "success", "length"]][:3]
    ep = rec.episode(0)
    ep.activity("ca1", "place_cells").shape            # (ep.length, 256), read from disk now
    ep.pose[:, :2]                                     # (x, z) of each step
    wins = [rec.episode(i) for i in rec.select(task="1-3", success=True)]

Only the slices asked for are read. The file is opened in SWMR mode, so a recording that a run
is still writing can be read; :meth:`Recording.refresh` shows the episodes written since.
Every problem (no file, a foreign or damaged file, an unknown port) is a :class:`RecordingError`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from brain.recording.memory import GROUP, datasets
from brain.recording.spec import FORMAT, FORMAT_VERSION, RecordingError, RecordingSpec
from brain.recording.store import (INDEX_DTYPE, activity_path, behaviour_names, memory_datasets, read_superblock,
                                   truncated)

#: The recording a training run writes into its run directory.
RECORDING_FILE = "recording.h5"


def open_run(path: str | os.PathLike) -> Recording:
    """The recording of a run directory (its ``recording.h5``) or of an ``.h5`` file.

    Raises:
        RecordingError: no such path, a directory without a recording, a file that is not a
            recording of this project or is damaged.
    """
    path = Path(path)
    if path.is_dir():
        file = path / RECORDING_FILE
        if not file.is_file():
            others = sorted(p.name for p in path.glob("*.h5"))
            hint = f"; it holds {', '.join(others)}: open one of those" if others else ""
            raise RecordingError(f"{path}: no {RECORDING_FILE} in this directory{hint}. Training records when "
                                 f"--record-every is above 0; python -m brain.evaluate {path} --record records "
                                 f"an evaluation")
        path = file
    elif not path.exists():
        raise RecordingError(f"{path}: no such file or directory; give a run directory or a recording .h5 file")
    return Recording(path)


def _open(path: Path) -> h5py.File:
    """``path`` opened for reading: in SWMR mode when it is one of ours, without file locks either way.

    No locks, so that a reader left open (a notebook) never stops a run from reopening the file to
    append; SWMR, so that a file a run is writing reads consistently.
    """
    if truncated(path):
        raise RecordingError(f"{path}: shorter than its HDF5 superblock says: truncated or damaged (a copy made "
                             f"while it was being written, or a full disk); copy it again, or give another recording")
    superblock = read_superblock(path)
    try:
        return h5py.File(path, "r", swmr=superblock is not None, locking=False)
    except OSError as error:
        if superblock is not None and superblock.flags:
            raise RecordingError(f"{path}: open for writing and not yet in SWMR mode: its writer is starting "
                                 f"(try again in a moment), or was killed while starting (the next --resume "
                                 f"salvages it)") from None
        raise RecordingError(f"{path}: not a readable HDF5 file ({error}); it is damaged or truncated, or not "
                             f"HDF5 at all. Give a recording that brain.run or brain.evaluate wrote") from None


def _current_index(rows: np.ndarray) -> np.ndarray:
    """An index read from the file in today's layout: version 1 files have no ``env`` column (all 0)."""
    if rows.dtype == INDEX_DTYPE:
        return rows
    current = np.zeros(len(rows), dtype=INDEX_DTYPE)
    for name in rows.dtype.names:
        current[name] = rows[name]
    return current


class Recording:
    """An open recording: ``index`` (one row per complete episode) and :meth:`episode` access.

    Attributes:
        path: the ``.h5`` file.
        spec: what was recorded (:class:`RecordingSpec`).
        connectome: the resolved connectome YAML of the brain that was recorded.
        sessions: one dict per writing session (training start or resume, evaluation).
    """

    def __init__(self, path: Path):
        self.path = path
        self._file = _open(path)
        try:
            self.spec, self.connectome, self.sessions = self._describe()
        except RecordingError:
            self._file.close()
            raise
        self._datasets: dict[str, h5py.Dataset] = {}
        self.index = np.zeros(0, dtype=INDEX_DTYPE)
        self.refresh()

    def _describe(self) -> tuple[RecordingSpec, str, list[dict[str, Any]]]:
        attrs = self._file.attrs
        if attrs.get("format") != FORMAT:
            raise RecordingError(f"{self.path}: an HDF5 file, but not a recording of this project (its format "
                                 f"attribute is {attrs.get('format')!r}, expected {FORMAT!r}); open a file that "
                                 f"brain.run or brain.evaluate wrote")
        if int(attrs["format_version"]) > FORMAT_VERSION:
            raise RecordingError(f"{self.path}: format version {attrs['format_version']}, newer than this code reads "
                                 f"(up to {FORMAT_VERSION}); update the project to read it")
        try:
            spec = RecordingSpec.from_attrs(attrs)
            expected = ["episodes", *(activity_path(key) for key, _ in spec.ports),
                        *(f"steps/{name}" for name in behaviour_names(spec)), *memory_datasets(spec)]
            missing = [name for name in expected if name not in self._file]
            connectome, sessions = str(attrs["connectome"]), json.loads(attrs["sessions"])
        except (KeyError, ValueError) as error:
            raise RecordingError(f"{self.path}: a damaged recording (attribute {error} unreadable); "
                                 f"it cannot be read") from None
        if missing:
            raise RecordingError(f"{self.path}: a damaged recording, datasets missing: {', '.join(missing)}")
        return spec, connectome, sessions

    # --- the index ---------------------------------------------------------------------------------
    def refresh(self) -> int:
        """Re-read the index (SWMR: a run may still be writing); returns the number of new episodes."""
        dataset = self._file["episodes"]
        dataset.refresh()
        index = _current_index(self._guard(dataset.__getitem__, slice(None)))
        before = len(self.index)
        self.index = index[index["length"] > 0]  # a row resized but never written is not an episode
        return len(self.index) - before

    def __len__(self) -> int:
        return len(self.index)

    def select(self, *, task: str | None = None, worker: int | None = None, success: bool | None = None,
               session: int | None = None) -> list[int]:
        """Positions in ``index`` of the episodes matching every condition given."""
        mask = np.ones(len(self.index), dtype=bool)
        if task is not None:
            mask &= self.index["task"] == task.encode()
        for field, value in (("worker", worker), ("success", success), ("session", session)):
            if value is not None:
                mask &= self.index[field] == int(value)
        return [int(i) for i in np.flatnonzero(mask)]

    def episode(self, position: int) -> Episode:
        """The episode at ``position`` in ``index`` (negative counts from the end)."""
        if not -len(self.index) <= position < len(self.index):
            raise RecordingError(f"{self.path}: no episode at position {position}; it holds {len(self.index)} "
                                 f"(call refresh() to see episodes written since it was opened)")
        return Episode(self, self.index[position])

    def __iter__(self) -> Iterator[Episode]:
        return (Episode(self, row) for row in self.index)

    # --- what was recorded -------------------------------------------------------------------------
    @property
    def ports(self) -> list[str]:
        """Recorded region ports, ``"region.port"``."""
        return [key for key, _ in self.spec.ports]

    @property
    def regions(self) -> dict[str, list[str]]:
        """Recorded region -> its recorded ports."""
        regions: dict[str, list[str]] = {}
        for key in self.ports:
            region, port = key.split(".", 1)
            regions.setdefault(region, []).append(port)
        return regions

    # --- reading slices ----------------------------------------------------------------------------
    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of dataset ``name`` (e.g. ``"steps/pose"``), refreshed if they are new."""
        dataset = self._datasets.get(name)
        if dataset is None:
            dataset = self._datasets[name] = self._file[name]
        if dataset.shape[0] < stop:
            dataset.refresh()
        return self._guard(dataset.__getitem__, slice(start, stop))

    def _guard(self, read, *args) -> np.ndarray:
        try:
            return read(*args)
        except OSError as error:
            raise RecordingError(f"{self.path}: a damaged recording, reading failed ({error})") from None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Recording {self.path}: {len(self)} episodes, {len(self.ports)} ports>"


class Episode:
    """One recorded episode; every array is read from the file when asked for, ``[length, ...]``.

    Attributes (from the index): ``episode``, ``worker``, ``env``, ``task``, ``success``, ``ret`` (return),
    ``length``, ``global_step``, ``session``, ``time``, ``start`` (first row on the step axis).
    """

    def __init__(self, recording: Recording, row: np.void):
        self._recording = recording
        self.episode, self.worker, self.env = int(row["episode"]), int(row["worker"]), int(row["env"])
        self.task, self.success = row["task"].decode(), bool(row["success"])
        self.ret, self.length = float(row["return"]), int(row["length"])
        self.global_step, self.session, self.time = int(row["global_step"]), int(row["session"]), float(row["time"])
        self.start = int(row["start"])

    def _steps(self, name: str) -> np.ndarray:
        return self._recording.read(name, self.start, self.start + self.length)

    def activity(self, region: str, port: str) -> np.ndarray:
        """``[length, units]`` activity of ``region.port`` (float32, or float16 if recorded so)."""
        key = f"{region}.{port}"
        if key not in self._recording.ports:
            raise RecordingError(f"{self._recording.path}: no activity of {key!r} recorded; recorded ports: "
                                 f"{', '.join(self._recording.ports)}")
        return self._steps(activity_path(key))

    def region(self, region: str) -> dict[str, np.ndarray]:
        """Every recorded port of ``region``, port -> ``[length, units]``."""
        ports = self._recording.regions.get(region)
        if ports is None:
            raise RecordingError(f"{self._recording.path}: region {region!r} not recorded; recorded regions: "
                                 f"{', '.join(self._recording.regions)}")
        return {port: self.activity(region, port) for port in ports}

    @property
    def pose(self) -> np.ndarray:
        """``[length, 3]`` true ``(x, z, heading)`` at each step's observation."""
        return self._steps("steps/pose")

    @property
    def action(self) -> np.ndarray:
        return self._steps("steps/action")

    @property
    def reward(self) -> np.ndarray:
        """Reward received after each step's action."""
        return self._steps("steps/reward")

    @property
    def value(self) -> np.ndarray:
        """The critic's value estimate at each step (the connectome's ``value:`` port)."""
        return self._steps("steps/value")

    @property
    def td_error(self) -> np.ndarray:
        """The TD-error port at each step (dopamine-like, one step late)."""
        if self._recording.spec.td_error_port is None:
            raise RecordingError(f"{self._recording.path}: no TD error recorded (the brain has no td_error port)")
        return self._steps("steps/td_error")

    def memory(self, name: str) -> np.ndarray:
        """``[length, ...]`` dataset ``name`` of the episodic memory's traffic (:mod:`brain.recording.memory`: e.g.
        ``"neighbour_position"``)."""
        path = f"{GROUP}/{name}"
        if path not in memory_datasets(self._recording.spec):
            reason = (f"it holds {', '.join(datasets(self._recording.spec.memory))}" if self._recording.spec.memory
                      else "this recording holds none (a brain without one, or recorded before format version 3)")
            raise RecordingError(f"{self._recording.path}: no memory traffic {name!r} recorded; {reason}")
        return self._steps(path)

    def __repr__(self) -> str:
        return (f"<Episode {self.episode} worker {self.worker} task {self.task}: {self.length} steps, "
                f"{'success' if self.success else 'failure'}, return {self.ret:+.3f}>")
