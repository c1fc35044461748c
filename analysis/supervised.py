"""Ports fitted to a teacher, unit by unit: how well they match it, never counted as cells found.

A region names the output port each teacher's loss fits (``Teacher.port``, ``regions/base.py``). In
the bundled connectomes that makes ``entorhinal.place`` and ``ca1.place_cells`` (place-cell teachers)
and ``entorhinal.head_direction`` (a head-direction teacher) supervised: their place or heading
tuning is imposed by the loss, so finding it says the loss was minimised, not that cells emerged.
The cells page reports them as "supervised: matches its teacher" with:

* **unit-teacher r**: per unit, the correlation of its activity with its own teacher unit's signal
  over the pooled steps (the signal computed from the recorded poses); the port's median;
* **place teachers**: each unit's rate-map peak against its field's centre, over the units whose
  centre lies in a visited bin: the median distance in metres, and the correlation of peaks with
  centres over the axes along which those centres spread (a corridor's width does not count);
* **head-direction teachers**: each unit's preferred direction (its tuning's Rayleigh vector) against
  its teacher cell's: the median absolute error in degrees (about 90 for no relation).

Ports that no teacher fits (``entorhinal.grid``, ``ca3.state``, ``ca1.code``, ...) could show cells
that emerged, though the losses downstream of them shape them too (the grid code feeds the place
and head-direction read-outs).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from analysis.cellstats import PortCells, Pooled
from analysis.metrics import preferred_direction
from brain.engine import Brain
from regions.base import Teacher, TeacherInput
from regions.teachers import HeadDirectionCells, PlaceCellMaps

#: The ``info`` keys a recording gives back (from the recorded pose and task); a teacher reading others is not
#: matched (the rewards are recorded too).
RECORDED_INFO = ("pose", "maze")


def supervised_ports(brain: Brain) -> dict[str, tuple[str, Teacher]]:
    """``"region.port" -> (teacher name, teacher)`` for every port a teacher of ``brain`` fits."""
    ports = {}
    for key, teacher in brain.teachers.items():
        region, name = key.split("/", 1)
        if teacher.port is not None:
            ports[f"{region}.{teacher.port}"] = (name, teacher)
    return ports


@dataclass(frozen=True)
class TeacherMatch:
    """How one brain's port matches its teacher (None where a measure does not apply; ``note`` says why)."""

    correlation: np.ndarray | None  # [units]
    peak_error: np.ndarray | None  # [units whose field centre was visited], metres
    peak_correlation: float | None
    direction_error: np.ndarray | None  # [units], degrees
    note: str = ""

    def summary(self) -> dict[str, float]:
        """The port's figures by name: median r, median peak distance, peak r, median direction error."""
        figures = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.correlation is not None:
                figures["r"] = float(np.nanmedian(self.correlation))
            if self.peak_error is not None:
                figures["peak distance"] = float(np.nanmedian(self.peak_error)) if len(self.peak_error) else np.nan
                figures["peak r"] = float("nan") if self.peak_correlation is None else self.peak_correlation
            if self.direction_error is not None:
                figures["direction error"] = float(np.nanmedian(self.direction_error))
        return figures


def teacher_steps(pooled: Pooled, rewards: np.ndarray) -> TeacherInput:
    """The pooled steps as a teacher's input: the recorded pose and maze, the recorded rewards (one environment)."""
    poses = np.column_stack([pooled.positions, pooled.headings]).astype(np.float32)
    return TeacherInput(infos=[[{"pose": pose, "maze": pooled.maze}] for pose in poses],
                        rewards=np.asarray(rewards, dtype=np.float32).reshape(-1, 1))


def _correlations(activity: np.ndarray, signal: np.ndarray) -> np.ndarray:
    a, b = activity - activity.mean(axis=0), signal - signal.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))


def _peaks(cells: PortCells) -> np.ndarray:
    """Each unit's rate-map peak ``(x, z)`` in metres, ``[units, 2]`` (NaN for a unit without a finite map)."""
    maps = cells.maps
    flat = maps.rates.reshape(len(maps.rates), -1)
    finite = np.isfinite(flat).any(axis=1)
    index = np.where(finite, np.argmax(np.where(np.isfinite(flat), flat, -np.inf), axis=1), 0)
    iz, ix = np.unravel_index(index, maps.rates.shape[1:])
    peaks = np.column_stack([maps.x_centres[ix], maps.z_centres[iz]])
    peaks[~finite] = np.nan
    return peaks


def _place_match(cells: PortCells, centres: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Peak-to-centre distances of the units whose centre lies in a visited bin, and the peak-centre correlation."""
    maps = cells.maps
    bin_x, bin_z = maps.x_edges[1] - maps.x_edges[0], maps.z_edges[1] - maps.z_edges[0]
    ix = np.floor((centres[:, 0] - maps.x_edges[0]) / bin_x).astype(int)
    iz = np.floor((centres[:, 1] - maps.z_edges[0]) / bin_z).astype(int)
    nz, nx = maps.occupancy.shape
    inside = (ix >= 0) & (ix < nx) & (iz >= 0) & (iz < nz)
    visited = np.zeros(len(centres), dtype=bool)
    visited[inside] = maps.occupancy[iz[inside], ix[inside]] > 0
    peaks = _peaks(cells)
    keep = visited & np.isfinite(peaks).all(axis=1)
    distances = np.linalg.norm(peaks[keep] - centres[keep], axis=1)
    axes = [axis for axis, size in ((0, bin_x), (1, bin_z)) if keep.sum() > 2 and np.ptp(centres[keep, axis]) > size]
    if not axes:
        return distances, None
    p = np.concatenate([peaks[keep, axis] - peaks[keep, axis].mean() for axis in axes])
    c = np.concatenate([centres[keep, axis] - centres[keep, axis].mean() for axis in axes])
    norm = np.sqrt((p * p).sum() * (c * c).sum())
    return distances, float((p * c).sum() / norm) if norm > 0 else None


def match_teacher(teacher: Teacher, activity: np.ndarray, cells: PortCells, pooled: Pooled,
                  rewards: np.ndarray) -> TeacherMatch:
    """How ``activity`` ``[T, units]`` of a port (its measures ``cells``) matches ``teacher`` over ``pooled``."""
    missing = [key for key in teacher.info_keys if key not in RECORDED_INFO]
    if missing:
        return TeacherMatch(None, None, None, None, f"its teacher reads info {missing}, which a recording does not "
                                                    f"hold")
    signal = np.asarray(teacher.signal(teacher_steps(pooled, rewards)), dtype=float).reshape(pooled.steps, -1)
    if signal.shape[1] != activity.shape[1]:
        return TeacherMatch(None, None, None, None, f"its teacher has {signal.shape[1]} units, the port "
                                                    f"{activity.shape[1]}")
    correlation, peak_error, peak_r, direction_error = _correlations(activity, signal), None, None, None
    if isinstance(teacher.signal, PlaceCellMaps):
        centres = teacher.signal.for_maze(pooled.maze).centres.numpy().astype(float)
        peak_error, peak_r = _place_match(cells, centres)
    if isinstance(teacher.signal, HeadDirectionCells):
        preferred = teacher.signal.preferred.numpy().astype(float)
        with np.errstate(invalid="ignore"):
            error = (preferred_direction(cells.tuning) - preferred + np.pi) % (2 * np.pi) - np.pi
        direction_error = np.abs(np.degrees(error))
    return TeacherMatch(correlation, peak_error, peak_r, direction_error)


@dataclass(frozen=True)
class Supervision:
    """A supervised port: its teacher, and how the recorded brain and each untrained brain match it."""

    key: str
    teacher: str  # the teacher's name in its region
    doc: str
    measure: str | None  # the cell measure the teacher imposes: information (place), direction (heading), None
    trained: TeacherMatch
    untrained: tuple[TeacherMatch, ...] = ()

    def figures(self) -> list[tuple[str, float, np.ndarray]]:
        """``(figure, recorded brain, untrained brains [seeds])`` for each figure of the match."""
        trained = self.trained.summary()
        untrained = [match.summary() for match in self.untrained]
        return [(name, value, np.array([figures.get(name, np.nan) for figures in untrained]))
                for name, value in trained.items()]


def supervision(key: str, name: str, teacher: Teacher, trained: tuple[np.ndarray, PortCells],
                untrained: Sequence[tuple[np.ndarray, PortCells]], pooled: Pooled, rewards: np.ndarray) -> Supervision:
    """The match of port ``key`` to its teacher ``name``: the recorded brain's ``(activity, cells)`` and each
    untrained brain's."""
    return Supervision(key, name, teacher.doc, imposed_measure(teacher),
                       match_teacher(teacher, *trained, pooled, rewards),
                       tuple(match_teacher(teacher, *brain, pooled, rewards) for brain in untrained))


def imposed_measure(teacher: Teacher) -> str | None:
    """The cell measure a teacher imposes on its port: spatial information for place cells, the head-direction
    vector length for head-direction cells, None for other teachers."""
    if isinstance(teacher.signal, PlaceCellMaps):
        return "information"
    if isinstance(teacher.signal, HeadDirectionCells):
        return "direction"
    return None
