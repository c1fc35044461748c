"""The HDF5 layout of a recording and the writer's side of it: create, reopen, salvage, append.

Layout (``FORMAT`` version 3; ``N`` = recorded steps, ``E`` = recorded episodes, ``k`` = neighbours)::

    /                                 attributes: format, format_version, connectome (resolved YAML),
                                      connectome_name, ports (JSON [["region.port", units], ...]),
                                      value_port, td_error_port, activity_dtype, compression,
                                      memory_neighbours (k; 0: no memory, new in version 3),
                                      sessions (JSON list: one entry per writing session)
    /steps/regions/<region>/<port>    [N, units]  float32 (or float16)   region activity
    /steps/pose                       [N, 3]      float32   true (x, z, heading) of the step's observation
    /steps/action                     [N]         int16     action taken
    /steps/reward                     [N]         float32   reward received after the action
    /steps/value                      [N]         float32   the connectome's value port
    /steps/td_error                   [N]         float32   the TD-error port (when the brain has one)
    /steps/memory/<name>              [N, ...]              the episodic memory's traffic (when the brain has
                                                            one; brain.recording.memory; new in version 3)
    /episodes                         [E]         compound  episode, worker, task, start, length,
                                                            success, return, global_step, session, time,
                                                            env (the worker's environment; new in version 2)

Every dataset is created at the start, chunked and resizable along the step (or episode) axis,
so that the file can switch to SWMR mode (single writer, many readers): readers see it while
it grows, and a writer killed at any moment leaves a file that SWMR readers can open. Episodes
are written in batches, as their steps, a flush, then their ``/episodes`` rows, a flush: a
reader that finds a row finds all its steps, and a row of zeros (``length`` 0, a row resized
but never written) is not an episode.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import h5py
import numpy as np

from brain.recording import memory
from brain.recording.episode import EpisodeRecord
from brain.recording.spec import FORMAT, FORMAT_VERSION, RecordingError, RecordingSpec

INDEX_DTYPE = np.dtype([("episode", "<i8"), ("worker", "<i2"), ("task", "S16"), ("start", "<i8"), ("length", "<i4"),
                        ("success", "u1"), ("return", "<f8"), ("global_step", "<i8"), ("session", "<i2"),
                        ("time", "<f8"), ("env", "<i2")])
#: Per-step datasets besides region activity: name -> (units or None for [N], dtype).
BEHAVIOUR = {"pose": (3, "float32"), "action": (None, "int16"), "reward": (None, "float32"),
             "value": (None, "float32"), "td_error": (None, "float32")}
#: Chunk size: small enough that reading one episode's slice reads little more than the slice,
#: large enough for gzip to work with.
CHUNK_BYTES = 32 * 1024
CHUNK_ROWS = (16, 1024)
#: A batch is written once this many steps wait (the longest chunk, so that each write fills
#: about a chunk of every dataset), or once its first episode has waited this long.
BATCH_STEPS = CHUNK_ROWS[1]
BATCH_SECONDS = 30.0
GZIP_LEVEL = 4


def activity_path(key: str) -> str:
    """``"ca1.place_cells"`` -> ``"steps/regions/ca1/place_cells"``."""
    region, port = key.split(".", 1)
    return f"steps/regions/{region}/{port}"


def behaviour_names(spec: RecordingSpec) -> list[str]:
    """The per-step behaviour datasets a spec has (``td_error`` only with a TD-error port)."""
    return [name for name in BEHAVIOUR if name != "td_error" or spec.td_error_port is not None]


def memory_datasets(spec: RecordingSpec) -> dict[str, tuple[tuple[int, ...], str]]:
    """The episodic memory's datasets a spec has, by path: (shape after the step axis, dtype); none without one."""
    return {f"{memory.GROUP}/{name}": layout for name, layout in memory.datasets(spec.memory).items()} \
        if spec.memory else {}


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
    elif left_open(path):
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
    """A prepared recording opened by its one writer in SWMR mode; :meth:`append` adds an episode.

    Appended episodes are written in batches: when ``batch_steps`` steps are waiting, or the oldest
    has waited ``batch_seconds`` (:meth:`write_if_due`), and at :meth:`close`. Each write rewrites
    every dataset's last, partly filled chunk, and under SWMR the space of the old copy is never
    reused, so writing episode by episode would waste more space than short episodes fill.
    """

    def __init__(self, path: Path, batch_steps: int = BATCH_STEPS, batch_seconds: float = BATCH_SECONDS):
        self.path, self.batch_steps, self.batch_seconds = path, batch_steps, batch_seconds
        self._file = _open_writable(path)
        self.spec = _stored_spec(path, self._file)
        self.session = len(json.loads(self._file.attrs["sessions"])) - 1
        self._columns = self.spec.columns()
        self._activity = {key: self._file[activity_path(key)] for key, _ in self.spec.ports}
        self._behaviour = {name: self._file[f"steps/{name}"] for name in behaviour_names(self.spec)}
        self._memory = {path: self._file[path] for path in memory_datasets(self.spec)}
        self._index = self._file["episodes"]
        self._pending: list[EpisodeRecord] = []
        self._pending_since = 0.0
        self._file.swmr_mode = True

    def append(self, record: EpisodeRecord) -> None:
        """Queue one finished episode for writing; write the batch if it is due."""
        if (record.memory is None) != (self.spec.memory == 0):
            raise RecordingError(f"{self.path}: records {_describe(self.spec)}, but an episode came "
                                 f"{'without' if record.memory is None else 'with'} the memory's traffic; record "
                                 f"with an EpisodeBuffer made for this spec (memory={self.spec.memory})")
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append(record)
        self.write_if_due()

    @property
    def waiting(self) -> int:
        """Episodes appended but not written yet."""
        return len(self._pending)

    def write_if_due(self) -> None:
        waiting = sum(record.length for record in self._pending)
        if waiting and (waiting >= self.batch_steps or time.monotonic() - self._pending_since >= self.batch_seconds):
            self.write()

    def write(self) -> None:
        """Write the waiting episodes: their steps, a flush, their index rows, a flush.

        A reader therefore never finds an index row whose steps are not in the file yet.
        """
        if not self._pending:
            return
        records, self._pending = self._pending, []
        start = self._behaviour["action"].shape[0]
        activity = np.concatenate([record.activity for record in records])
        columns = {"pose": np.concatenate([record.pose for record in records]),
                   "action": np.concatenate([record.action for record in records]),
                   "reward": np.concatenate([record.reward for record in records]),
                   "value": activity[:, self._columns[self.spec.value_port]][:, 0]}
        if self.spec.td_error_port is not None:
            columns["td_error"] = activity[:, self._columns[self.spec.td_error_port]][:, 0]
        for name, dataset in self._behaviour.items():
            _extend(dataset, start, columns[name])
        for key, dataset in self._activity.items():
            _extend(dataset, start, activity[:, self._columns[key]])
        for path, dataset in self._memory.items():
            name = path.rsplit("/", 1)[1]
            _extend(dataset, start, np.concatenate([record.memory[name] for record in records]))
        self._file.flush()
        starts = start + np.cumsum([0] + [record.length for record in records[:-1]])
        rows = np.array([(record.episode, record.worker, record.task.encode(), first, record.length, record.success,
                          record.ret, record.global_step, self.session, record.time, record.env)
                         for record, first in zip(records, starts)], dtype=INDEX_DTYPE)
        _extend(self._index, self._index.shape[0], rows)
        self._file.flush()

    def close(self) -> None:
        """Write what is waiting, then close the file."""
        try:
            self.write()
        finally:
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
            _dataset(file, activity_path(key), (units,), spec.activity_dtype, spec.compression)
        for name in behaviour_names(spec):
            units, dtype = BEHAVIOUR[name]
            _dataset(file, f"steps/{name}", () if units is None else (units,), dtype, spec.compression)
        for name, (tail, dtype) in memory_datasets(spec).items():
            _dataset(file, name, tail, dtype, spec.compression)
        _dataset(file, "episodes", (), INDEX_DTYPE, spec.compression)
    os.replace(tmp, path)  # a half-created file never takes the recording's name


def _dataset(file: h5py.File, name: str, tail: tuple[int, ...], dtype, compression: str) -> None:
    """An empty dataset of rows shaped ``tail``, resizable along axis 0, chunked to about CHUNK_BYTES."""
    dtype = np.dtype(dtype)
    rows = int(np.clip(CHUNK_BYTES // (dtype.itemsize * math.prod(tail)), *CHUNK_ROWS))
    filters: dict[str, Any] = {}
    if compression != "none":
        filters = {"compression": compression, "shuffle": True}
        if compression == "gzip":
            filters["compression_opts"] = GZIP_LEVEL
    file.create_dataset(name, shape=(0, *tail), maxshape=(None, *tail), chunks=(rows, *tail), dtype=dtype, **filters)


class Superblock(NamedTuple):
    """The two superblock fields a reader and a reopening writer need before HDF5 touches the file."""

    flags: int  # file consistency flags: non-zero while a writer has the file open (or was killed)
    end_of_file: int  # the file's size as HDF5 last recorded it


def read_superblock(path: Path) -> Superblock | None:
    """The superblock (versions 2 and 3, at offset 0, 8-byte addresses: what this project writes), else None.

    Read directly, per the HDF5 file format: HDF5 refuses to reopen a file its writer never closed
    for writing at all, and a reader in SWMR mode skips the end-of-file check, so that opening a
    truncated file in SWMR mode retries its reads for a very long time.
    """
    with open(path, "rb") as handle:
        head = handle.read(36)
    if len(head) < 36 or head[:8] != b"\x89HDF\r\n\x1a\n" or head[8] not in (2, 3) or head[9] != 8:
        return None
    return Superblock(head[11], int.from_bytes(head[28:36], "little"))


def left_open(path: Path) -> bool:
    """The superblock still says "open for writing": a writer has the file open, or never closed it."""
    superblock = read_superblock(path)
    return superblock is not None and superblock.flags != 0


def truncated(path: Path) -> bool:
    """The file is shorter than its superblock says (copied while written, a full disk, damage)."""
    superblock = read_superblock(path)
    return superblock is not None and path.stat().st_size < superblock.end_of_file


def _salvage(path: Path) -> None:
    """Copy a file its writer never closed (readable in SWMR mode) into a fresh one, keeping complete episodes."""
    if truncated(path):
        raise RecordingError(f"{path}: its last writer was killed and the file is truncated, so it cannot be "
                             f"salvaged; move it away to start a new recording")
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
    memory = f", the memory's traffic ({spec.memory} neighbours a lookup)" if spec.memory else ""
    return (f"{len(spec.ports)} ports ({', '.join(key for key, _ in spec.ports)}) as {spec.activity_dtype}, "
            f"{spec.compression}{memory}")
