"""The HDF5 layout of a recording and the writer's side of it: create, reopen, salvage, append.

Layout (``FORMAT`` version 1; ``N`` = recorded steps, ``E`` = recorded episodes)::

    /                                 attributes: format, format_version, connectome (resolved YAML),
                                      connectome_name, ports (JSON [["region.port", units], ...]),
                                      value_port, td_error_port, activity_dtype, compression,
                                      sessions (JSON list: one entry per writing session)
    /steps/regions/<region>/<port>    [N, units]  float32 (or float16)   region activity
    /steps/pose                       [N, 3]      float32   true (x, z, heading) of the step's observation
    /steps/action                     [N]         int16     action taken
    /steps/reward                     [N]         float32   reward received after the action
    /steps/value                      [N]         float32   the connectome's value port
    /steps/td_error                   [N]         float32   the TD-error port (when the brain has one)
    /episodes                         [E]         compound  episode, worker, task, start, length,
                                                            success, return, global_step, session, time

Every dataset is created at the start, chunked and resizable along the step (or episode) axis,
so that the file can switch to SWMR mode (single writer, many readers): readers see it while
it grows, and a writer killed at any moment leaves a file that SWMR readers can open. An episode
is appended as its steps, a flush, then its ``/episodes`` row, a flush: a reader that finds a
row finds all its steps, and a row of zeros (``length`` 0, a row resized but never written) is
not an episode.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from brain.recording.episode import EpisodeRecord
from brain.recording.spec import FORMAT, FORMAT_VERSION, RecordingError, RecordingSpec

INDEX_DTYPE = np.dtype([("episode", "<i8"), ("worker", "<i2"), ("task", "S16"), ("start", "<i8"), ("length", "<i4"),
                        ("success", "u1"), ("return", "<f8"), ("global_step", "<i8"), ("session", "<i2"),
                        ("time", "<f8")])
#: Per-step datasets besides region activity: name -> (units or None for [N], dtype).
BEHAVIOUR = {"pose": (3, "float32"), "action": (None, "int16"), "reward": (None, "float32"),
             "value": (None, "float32"), "td_error": (None, "float32")}
#: Chunk size: each append rewrites a dataset's last, partly filled chunk, and under SWMR the old
#: copy's space is never reused, so chunks stay small (measured: about 15 % of a gzip file is such
#: dead space at these sizes, 25 % at 64 KiB and 16384 rows); small chunks also keep an episode's
#: slice cheap to read. Larger chunks would compress slightly better.
CHUNK_BYTES = 32 * 1024
CHUNK_ROWS = (16, 1024)
GZIP_LEVEL = 4


def activity_path(key: str) -> str:
    """``"ca1.place_cells"`` -> ``"steps/regions/ca1/place_cells"``."""
    region, port = key.split(".", 1)
    return f"steps/regions/{region}/{port}"


def behaviour_names(spec: RecordingSpec) -> list[str]:
    """The per-step behaviour datasets a spec has (``td_error`` only with a TD-error port)."""
    return [name for name in BEHAVIOUR if name != "td_error" or spec.td_error_port is not None]


def prepare(path: Path, spec: RecordingSpec, connectome_yaml: str, connectome_name: str,
            session: Mapping[str, Any]) -> None:
    """Make ``path`` ready for a writing session: create it, or check and reopen it to append.

    A file whose last writer was killed keeps HDF5's "open for writing" mark and cannot be
    reopened for writing; it is salvaged (every complete episode copied into a fresh file).
    ``session`` (what is writing: training or evaluation, when, from which step) is added to the
    file's ``sessions`` list; each episode row names its session. Raises RecordingError.
    """
    if not path.exists():
        _create(path, spec, connectome_yaml, connectome_name)
    elif _left_open(path):
        _salvage(path)
    with _open_writable(path) as file:
        stored = _stored_spec(path, file)
        if stored != spec:
            raise RecordingError(f"{path}: holds a recording of {_describe(stored)}, but this session records "
                                 f"{_describe(spec)}; record with the same options, or move the file away to "
                                 f"start a new one")
        _truncate_to_complete(file)
        sessions = json.loads(file.attrs["sessions"])
        file.attrs["sessions"] = json.dumps(sessions + [dict(session, started=round(time.time(), 3))])


class RecordingFile:
    """A prepared recording opened by its one writer in SWMR mode; :meth:`append` adds an episode."""

    def __init__(self, path: Path):
        self.path = path
        self._file = _open_writable(path)
        self.spec = _stored_spec(path, self._file)
        self.session = len(json.loads(self._file.attrs["sessions"])) - 1
        self._columns = self.spec.columns()
        self._activity = {key: self._file[activity_path(key)] for key, _ in self.spec.ports}
        self._behaviour = {name: self._file[f"steps/{name}"] for name in behaviour_names(self.spec)}
        self._index = self._file["episodes"]
        self._file.swmr_mode = True

    def append(self, record: EpisodeRecord) -> None:
        """Write one episode: its steps, a flush, its index row, a flush (readers see whole episodes only)."""
        start, length = self._behaviour["action"].shape[0], record.length
        columns = {"pose": record.pose, "action": record.action, "reward": record.reward,
                   "value": record.activity[:, self._columns[self.spec.value_port]][:, 0]}
        if self.spec.td_error_port is not None:
            columns["td_error"] = record.activity[:, self._columns[self.spec.td_error_port]][:, 0]
        for name, dataset in self._behaviour.items():
            _extend(dataset, start, columns[name])
        for key, dataset in self._activity.items():
            _extend(dataset, start, record.activity[:, self._columns[key]])
        self._file.flush()
        row = np.array((record.episode, record.worker, record.task.encode(), start, length, record.success,
                        record.ret, record.global_step, self.session, record.time), dtype=INDEX_DTYPE)
        _extend(self._index, self._index.shape[0], row[None])
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _extend(dataset: h5py.Dataset, start: int, rows: np.ndarray) -> None:
    dataset.resize(start + len(rows), axis=0)
    dataset[start:] = rows.astype(dataset.dtype, copy=False)


def _create(path: Path, spec: RecordingSpec, connectome_yaml: str, connectome_name: str) -> None:
    """A new file with every dataset of ``spec``, empty, and the attributes that describe it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w", libver="latest") as file:
        file.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, "connectome": connectome_yaml,
                           "connectome_name": connectome_name, "sessions": "[]", **spec.to_attrs()})
        for key, units in spec.ports:
            _dataset(file, activity_path(key), units, spec.activity_dtype, spec.compression)
        for name in behaviour_names(spec):
            units, dtype = BEHAVIOUR[name]
            _dataset(file, f"steps/{name}", units, dtype, spec.compression)
        _dataset(file, "episodes", None, INDEX_DTYPE, spec.compression)
    os.replace(tmp, path)  # a half-created file never takes the recording's name


def _dataset(file: h5py.File, name: str, units: int | None, dtype, compression: str) -> None:
    """An empty dataset resizable along axis 0, chunked to about CHUNK_BYTES."""
    dtype = np.dtype(dtype)
    rows = int(np.clip(CHUNK_BYTES // (dtype.itemsize * (units or 1)), *CHUNK_ROWS))
    tail = () if units is None else (units,)
    filters: dict[str, Any] = {}
    if compression != "none":
        filters = {"compression": compression, "shuffle": True}
        if compression == "gzip":
            filters["compression_opts"] = GZIP_LEVEL
    file.create_dataset(name, shape=(0, *tail), maxshape=(None, *tail), chunks=(rows, *tail), dtype=dtype, **filters)


def _left_open(path: Path) -> bool:
    """The superblock still says "open for writing": the last writer never closed the file.

    Read from the superblock itself (versions 2 and 3 keep the file consistency flags in byte 11),
    because HDF5 refuses to open such a file for writing at all.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
    return len(head) == 12 and head[:8] == b"\x89HDF\r\n\x1a\n" and head[8] in (2, 3) and head[11] != 0


def _salvage(path: Path) -> None:
    """Copy a file its writer never closed (readable in SWMR mode) into a fresh one, keeping complete episodes."""
    tmp = path.with_name(path.name + ".salvage")
    try:
        with h5py.File(path, "r", swmr=True) as source, h5py.File(tmp, "w", libver="latest") as target:
            target.attrs.update(dict(source.attrs))
            for name in source:
                source.copy(source[name], target, name)
            _truncate_to_complete(target)
    except (OSError, KeyError) as error:
        tmp.unlink(missing_ok=True)
        raise RecordingError(f"{path}: its last writer was killed and the file cannot be salvaged ({error}); "
                             f"move it away to start a new recording") from None
    os.replace(tmp, path)


def _truncate_to_complete(file: h5py.File) -> None:
    """Drop what a killed writer left half-written: index rows never filled, steps no row points to."""
    index = file["episodes"]
    lengths = index.fields("length")[:]
    complete = int(np.flatnonzero(lengths > 0)[-1]) + 1 if (lengths > 0).any() else 0
    starts = index.fields("start")[:complete]
    end = int((starts + lengths[:complete]).max()) if complete else 0
    index.resize(complete, axis=0)
    for dataset in _step_datasets(file):
        dataset.resize(end, axis=0)


def _step_datasets(file: h5py.File) -> list[h5py.Dataset]:
    found: list[h5py.Dataset] = []
    file["steps"].visititems(lambda _, item: found.append(item) if isinstance(item, h5py.Dataset) else None)
    return found


def _open_writable(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r+", libver="latest")
    except OSError as error:
        raise RecordingError(f"{path}: cannot be opened for writing ({error}); check that it is a recording this "
                             f"project wrote and that no other run is writing it, or move it away") from None


def _stored_spec(path: Path, file: h5py.File) -> RecordingSpec:
    if file.attrs.get("format") != FORMAT:
        raise RecordingError(f"{path}: not a recording of this project (no format attribute {FORMAT!r}); "
                             f"move it away, recordings are written as a new file")
    if int(file.attrs["format_version"]) != FORMAT_VERSION:
        raise RecordingError(f"{path}: a format version {file.attrs['format_version']} recording; this code appends "
                             f"to version {FORMAT_VERSION} only; move it away to start a new one")
    return RecordingSpec.from_attrs(file.attrs)


def _describe(spec: RecordingSpec) -> str:
    return (f"{len(spec.ports)} ports ({', '.join(key for key, _ in spec.ports)}) as {spec.activity_dtype}, "
            f"{spec.compression}")
