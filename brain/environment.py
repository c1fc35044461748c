"""The environment a worker trains in, shaped to the connectome's ``inputs:``.

The image sizes come from the connectome (``inputs.rgb: [3, 84, 84]``, ``inputs.depth: [1, 32, 32]``),
so a user who changes the eye's resolution changes one file and the simulator follows.
"""

from __future__ import annotations

from typing import Mapping

import gymnasium

from brain.config import TrainConfig

Shape = tuple[int, ...]


def make_environment(cfg: TrainConfig, input_shapes: Mapping[str, Shape], seed: int) -> gymnasium.Env:
    """The embedded simulator for ``cfg.task`` (or the curriculum), seeded by the caller's reset."""
    import tasks

    kwargs = {"ticks_per_step": cfg.ticks_per_step}
    if "rgb" in input_shapes:
        kwargs["rgb_size"] = input_shapes["rgb"][-1]
    if "depth" in input_shapes:
        kwargs["depth_size"] = input_shapes["depth"][-1]
    return tasks.make("curriculum" if cfg.curriculum else cfg.task, **kwargs)
