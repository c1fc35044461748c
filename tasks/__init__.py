"""WBAI 2017 maze tasks and the open arena: the embedded simulator as gymnasium environments.

Every task is registered as ``wba/<Maze>-<id>-v0`` (``wba/OneDim-1-3-v0``, ``wba/OneDim-1-8a-v0``,
``wba/Arrow-2-1-v0``, ``wba/Cross-3-1-v0``) plus ``wba/Curriculum-v0``; the open arena's tasks as
``wba/OpenField-v0`` and ``wba/WaterMaze-v0`` (``tasks.arena``). ``tasks.make("1-3")`` (or
``tasks.make("openfield")``) builds one without gymnasium's wrappers.

Example:
    >>> import gymnasium, tasks
    >>> env = gymnasium.make("wba/OneDim-1-3-v0")
    >>> env = tasks.make("2-1", noop_action=True)
    >>> env = tasks.make("watermaze", kinematics="continuous")
"""

from __future__ import annotations

from typing import Any

import gymnasium

from tasks.arena import ARENA_IDS, ARENA_TASKS, ArenaEnv
from tasks.env import CURRICULUM_ID, MazeEnv
from tasks.free_space import free_space_points
from tasks.rules import TASK_IDS, task_spec

__all__ = ["MazeEnv", "ArenaEnv", "make", "free_space_points", "gym_id", "TASK_IDS", "ARENA_IDS", "GYM_IDS",
           "INFO_KEYS"]

#: The ``info`` keys every environment supplies at each reset and step (the embedded simulator and
#: the Unity adapter; ``docs/interfaces.md`` section 1): what a region's teacher signal may read.
INFO_KEYS = ("pose", "task", "maze", "zone", "target", "cue", "cued_target", "ticks", "frames", "cumulative_reward",
             "success", "failure", "trial", "task_complete")


def gym_id(task: str) -> str:
    """The registered gymnasium id of a short task id (``"1-3"`` -> ``"wba/OneDim-1-3-v0"``)."""
    if task == CURRICULUM_ID:
        return "wba/Curriculum-v0"
    if task in ARENA_TASKS:
        return ARENA_TASKS[task].gym_id
    return f"wba/{task_spec(task).family}-{task}-v0"


def make(task: str, **kwargs: Any) -> MazeEnv | ArenaEnv:
    """The environment of a short task id: a ``MazeEnv`` (``"1-3"``, ``"2-1"``, ``"curriculum"``; kwargs as
    ``MazeEnv``) or an ``ArenaEnv`` (``"openfield"``, ``"watermaze"``; kwargs as ``ArenaEnv``)."""
    if task in ARENA_TASKS:
        return ArenaEnv(task, **kwargs)
    if task not in (*TASK_IDS, CURRICULUM_ID):
        raise ValueError(f"unknown task id {task!r}; valid task ids: {', '.join((*TASK_IDS, CURRICULUM_ID, *ARENA_IDS))}")
    return MazeEnv(task, **kwargs)


GYM_IDS: dict[str, str] = {t: gym_id(t) for t in (*TASK_IDS, CURRICULUM_ID, *ARENA_IDS)}

for _task, _id in GYM_IDS.items():
    if _id not in gymnasium.registry:
        entry = "tasks.arena:ArenaEnv" if _task in ARENA_TASKS else "tasks.env:MazeEnv"
        gymnasium.register(id=_id, entry_point=entry, kwargs={"task": _task})
