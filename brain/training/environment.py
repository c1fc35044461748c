"""The environment a worker trains in, shaped to the connectome's ``inputs:``.

The image sizes come from the connectome (``inputs.rgb: [3, 84, 84]``, ``inputs.depth: [1, 32, 32]``),
so a user who changes the eye's resolution changes one file and the simulator follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import gymnasium

from brain.training.config import TrainConfig

Shape = tuple[int, ...]


def make_environment(cfg: TrainConfig, input_shapes: Mapping[str, Shape], seed: int, rank: int = 0) -> gymnasium.Env:
    """The environment of worker ``rank`` for ``cfg.task`` (or the curriculum), seeded by the caller's reset.

    ``cfg.env == "unity"``: a Unity process of its own on port ``cfg.unity_base_port + rank``, logging
    to ``<run dir>/unity/Player-<rank>.log``.
    """
    import tasks

    task = "curriculum" if cfg.curriculum else cfg.task
    kwargs = {"ticks_per_step": cfg.ticks_per_step}
    if "rgb" in input_shapes:
        kwargs["rgb_size"] = input_shapes["rgb"][-1]
    if "depth" in input_shapes:
        kwargs["depth_size"] = input_shapes["depth"][-1]
    if cfg.env == "unity":
        from tasks.unity.adapter import UnityMazeEnv

        return UnityMazeEnv(cfg.unity_build, task, worker_id=rank, base_port=cfg.unity_base_port,
                            no_graphics=cfg.unity_no_graphics, timeout=cfg.unity_timeout,
                            time_scale=cfg.unity_time_scale, log_folder=Path(cfg.out) / "unity", **kwargs)
    return tasks.make(task, **kwargs)
