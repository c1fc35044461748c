"""Recordings opened for analysis: the recorded brain's connectome, the episodes asked for, the names checked.

Every analysis of recorded activity starts here, so that a run without a recording, an empty
recording, an unknown region or port and an episode out of range read the same everywhere
(an :class:`~analysis.report.AnalysisError` or a :class:`~brain.recording.RecordingError`,
printed as one line by :func:`analysis.report.run_command`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from analysis.pretraining import redirect
from analysis.report import AnalysisError
from brain.connectome import Connectome
from brain.connectome.yamlmarks import parse_yaml
from brain.errors import ConnectomeError
from brain.recording import Episode, Recording, open_run
from tasks.arena import ARENA_TASKS
from tasks.geometry import ARENA
from tasks.rules import task_spec


def open_recording(path: Path) -> Recording:
    """The recording of a run directory or ``.h5`` file, refused when it holds no finished episode."""
    redirect(path)
    recording = open_run(path)
    if not len(recording):
        recording.close()
        raise AnalysisError(f"{recording.path}: the recording holds no finished episode yet; let the run "
                            f"train (or evaluate with --record) until an episode ends")
    return recording


def recorded_connectome(recording: Recording) -> Connectome:
    """The connectome of the brain that was recorded (its resolved YAML, lesions included, is in the file).

    Read from the recording rather than the run directory so that an ``.h5`` file alone suffices and
    the picture always shows the brain that produced the activity.
    """
    try:
        return Connectome.from_tree(parse_yaml(recording.connectome, f"{recording.path} (stored connectome)"))
    except ConnectomeError as error:
        raise AnalysisError(f"{recording.path}: its stored connectome cannot be read: {error}") from None


def pick_episode(recording: Recording, position: int | None) -> Episode:
    """The episode at ``position`` in the recording's index (None: the last recorded)."""
    return recording.episode(-1 if position is None else position)


def check_regions(connectome: Connectome, names: Sequence[str]) -> list[str]:
    """``names`` (all regions of the connectome when empty), each checked to be one of its regions."""
    for name in names:
        if name not in connectome.regions:
            raise AnalysisError(f"unknown region {name!r}; the recorded brain has {', '.join(connectome.regions)}")
    return list(names) or list(connectome.regions)


def resolve_ports(recording: Recording, connectome: Connectome, names: Sequence[str]) -> list[str]:
    """``region`` or ``region.port`` names -> recorded ``region.port`` keys; a clear error for any other.

    A bare region stands for all its recorded ports.
    """
    recorded = recording.regions
    keys: list[str] = []
    for name in names:
        region, _, port = name.partition(".")
        check_regions(connectome, [region])
        if region not in recorded:
            lesion = connectome.lesions.get(region)
            why = "it is removed by a lesion, so it has no activity" if lesion == "remove" else \
                "its activity was not recorded (see --record-regions)"
            raise AnalysisError(f"region {region!r}: {why}; recorded regions: {', '.join(recorded)}")
        if port and port not in recorded[region]:
            raise AnalysisError(f"no port {name!r} recorded; {region} has {', '.join(recorded[region])}")
        keys += [f"{region}.{port}"] if port else [f"{region}.{p}" for p in recorded[region]]
    return list(dict.fromkeys(keys))


def maze_of(task: str) -> tuple[str, str]:
    """``(maze, layout)`` a task is played in (``tasks.geometry.load_maze`` arguments)."""
    if task in ARENA_TASKS:
        return ARENA, "OpenField"
    spec = task_spec(task)
    return spec.maze, spec.layout


def episodes_in_maze(recording: Recording, maze: str | None) -> tuple[str, list[int]]:
    """The maze to pool (``maze``, or the one with the most recorded steps) and its episodes' positions."""
    by_maze: dict[str, list[int]] = {}
    for position, row in enumerate(recording.index):
        by_maze.setdefault(maze_of(row["task"].decode())[0], []).append(position)
    if maze is None:
        maze = max(by_maze, key=lambda name: int(recording.index["length"][by_maze[name]].sum()))
    if maze not in by_maze:
        raise AnalysisError(f"{recording.path}: no recorded episode in maze {maze!r}; recorded mazes: "
                            f"{', '.join(sorted(by_maze))}")
    return maze, by_maze[maze]
