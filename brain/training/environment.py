"""The environments a worker trains in, shaped to the connectome's ``inputs:`` and giving exactly its ports.

The image sizes come from the connectome (``inputs.rgb: [3, 84, 84]``, ``inputs.depth: [1, 32, 32]``),
so a user who changes the eye's resolution changes one file and the simulator follows. The
``env.reward`` port, the reward received at this step (caused by the previous action), is not an
observation of the tasks: :class:`ConnectomeInputs` adds it, so that acting only stacks observations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

from brain.training.acting import EnvironmentBatch, env_seeds
from brain.training.config import TrainConfig

Shape = tuple[int, ...]
#: The port of the reward received at this step (0 after a reset), shape ``[1]``.
REWARD = "reward"


def port_spaces(observation_space: spaces.Dict) -> dict[str, spaces.Space]:
    """Every port an environment with these observations can feed: each observation, and the previous reward."""
    return {**observation_space.spaces, REWARD: spaces.Box(-np.inf, np.inf, (1,), np.float32)}


class ConnectomeInputs(gymnasium.Wrapper):
    """An environment whose observations are exactly the ports ``keys`` (the connectome's ``inputs:``), in that order.

    The ``reward`` port holds the reward of the last step as float32 ``[1]``, 0 after a reset.

    Example:
        >>> import tasks
        >>> env = ConnectomeInputs(tasks.make("1-1"), ("depth", "reward"))
        >>> obs, _ = env.reset(seed=0)
        >>> list(obs), obs["reward"].tolist()
        (['depth', 'reward'], [0.0])
    """

    def __init__(self, env: gymnasium.Env, keys: Sequence[str]):
        super().__init__(env)
        given = port_spaces(env.observation_space)
        self.keys = tuple(keys)
        self.observation_space = spaces.Dict({key: given[key] for key in self.keys})

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._ports(obs, 0.0), info

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._ports(obs, reward), reward, terminated, truncated, info

    def _ports(self, obs: Mapping[str, np.ndarray], reward: float) -> dict[str, np.ndarray]:
        return {key: np.array([reward], dtype=np.float32) if key == REWARD else obs[key] for key in self.keys}


def make_environment(cfg: TrainConfig, input_shapes: Mapping[str, Shape], rank: int = 0,
                     task: str | None = None) -> gymnasium.Env:
    """The environment of worker ``rank`` for ``task`` (default ``cfg.task``, or the curriculum), seeded by the
    caller's reset.

    ``cfg.env == "unity"``: a Unity process of its own on port ``cfg.unity_base_port + rank``, logging
    to ``<run dir>/unity/Player-<rank>.log``.
    """
    import tasks

    task = task or ("curriculum" if cfg.curriculum else cfg.task)
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


def environment_batch(cfg: TrainConfig, input_shapes: Mapping[str, Shape], seed: int, first_rank: int, n: int,
                      device: str = "cpu", task: str | None = None,
                      reset_options: Mapping[str, Any] | None = None) -> EnvironmentBatch:
    """``n`` environments of ``cfg`` (of ``task``, default as :func:`make_environment`) giving the ports
    ``input_shapes`` names, of ranks ``first_rank`` on (Unity ports), their first resets seeded from ``seed``
    (:func:`~brain.training.acting.env_seeds`), every reset with ``reset_options``."""
    envs = [ConnectomeInputs(make_environment(cfg, input_shapes, first_rank + index, task), tuple(input_shapes))
            for index in range(n)]
    return EnvironmentBatch(envs, env_seeds(seed, n), device, reset_options)
