"""Acting on a batch of environments: one ``Brain.step`` for N environments stepped one after another.

Shared by the A3C worker (:mod:`brain.training.a3c`) and ``brain.evaluate``. Batching is what makes the
brain cheap per environment step: at batch 1 a step is ~185 small operations whose fixed costs
dominate; at batch N the same operations serve N environments (PAAC, A2C, Sample Factory). The
simulators are cheap (~0.3 ms a step), so a plain loop over them in the worker's own process
is enough; each environment keeps its own episode, reset and previous reward.
"""

from __future__ import annotations

from typing import Sequence

import gymnasium
import numpy as np
import torch


class EnvironmentBatch:
    """N environments seen by the brain as one batch: row ``i`` of every port is environment ``i``.

    Besides the observations it keeps what the connectome's ``env.*`` ports and the recurrent
    state need per environment: the reward received at the last step (the ``env.reward`` port,
    0 after a reset) and whether the next brain step starts an episode (``resets``).

    Example:
        >>> import tasks
        >>> batch = EnvironmentBatch([tasks.make("1-1"), tasks.make("1-1")], seeds=[0, 1], keys=("depth", "reward"))
        >>> {key: tuple(port.shape) for key, port in batch.ports().items()}
        {'depth': (2, 1, 32, 32), 'reward': (2, 1)}
        >>> batch.resets().tolist()
        [True, True]
        >>> batch.close()
    """

    def __init__(self, envs: Sequence[gymnasium.Env], seeds: Sequence[int | None], keys: Sequence[str],
                 device: torch.device | str = "cpu"):
        if len(envs) != len(seeds):
            raise ValueError(f"EnvironmentBatch: {len(envs)} environments but {len(seeds)} seeds")
        self.envs, self.keys, self.device = list(envs), tuple(keys), torch.device(device)
        first = [env.reset(seed=seed) for env, seed in zip(self.envs, seeds)]
        self.observations = [obs for obs, _ in first]
        self.infos = [info for _, info in first]
        self.previous_rewards = np.zeros(len(self.envs), dtype=np.float32)
        self.starts = np.ones(len(self.envs), dtype=bool)  # the next brain step starts an episode in these rows

    def __len__(self) -> int:
        return len(self.envs)

    def ports(self) -> dict[str, torch.Tensor]:
        """The brain's ``env.*`` ports, ``[N, ...]`` on the batch's device."""
        ports = {key: torch.from_numpy(np.stack([obs[key] for obs in self.observations]))
                 for key in self.keys if key != "reward"}
        if "reward" in self.keys:
            ports["reward"] = torch.from_numpy(self.previous_rewards[:, None].copy())
        if self.device.type != "cpu":
            ports = {key: port.to(self.device, non_blocking=True) for key, port in ports.items()}
        return ports

    def resets(self) -> torch.Tensor | None:
        """``reset`` for ``Brain.step``: the rows that start an episode, or None when none does."""
        return torch.from_numpy(self.starts.copy()).to(self.device) if self.starts.any() else None

    def poses(self) -> np.ndarray:
        """True poses ``[N, 3]`` of the current observations (teachers and analysis only)."""
        return np.stack([np.asarray(info["pose"], dtype=np.float32) for info in self.infos])

    def step(self, index: int, action: int) -> tuple[float, bool, dict]:
        """Apply ``action`` in environment ``index``: its reward, whether its episode ended, and its ``info``.

        An ended episode is not reset here: the caller reads the final ``info`` and calls :meth:`reset`.
        """
        obs, reward, terminated, truncated, info = self.envs[index].step(action)
        done = bool(terminated or truncated)
        self.observations[index], self.infos[index] = obs, info
        self.previous_rewards[index], self.starts[index] = reward, done
        return float(reward), done, info

    def reset(self, index: int, seed: int | None = None) -> None:
        """Start environment ``index``'s next episode (its next brain step resets its state row)."""
        self.observations[index], self.infos[index] = self.envs[index].reset(seed=seed)
        self.previous_rewards[index], self.starts[index] = 0.0, True

    def close(self) -> None:
        for env in self.envs:
            env.close()


def sample_actions(logits: torch.Tensor) -> list[int]:
    """One action per row drawn from ``softmax(logits [N, A])`` (``torch.multinomial``: a sixth of the time of
    ``Categorical(logits).sample()``, whose argument checks acting would pay every step)."""
    return torch.multinomial(logits.softmax(-1), 1)[:, 0].tolist()


def greedy_actions(logits: torch.Tensor) -> list[int]:
    """The most probable action of each row of ``logits [N, A]``."""
    return logits.argmax(-1).tolist()


def env_seeds(seed: int, n: int) -> list[int]:
    """Seeds of a worker's ``n`` environments: ``seed`` for the first (so one environment plays exactly as
    before batching), distinct derived seeds for the others."""
    return [seed] + [hash((seed, index)) % (2**31) for index in range(1, n)]


def check_device(device: str) -> torch.device:
    """``device`` as a torch device, or a ``ValueError`` saying why it cannot be used and the fix."""
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"{device!r} is not a device: choose cpu or cuda (or cuda:N)")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"{device}: CUDA is not available here (torch {torch.__version__}, "
                         f"{'a CPU build' if torch.version.cuda is None else 'no GPU visible'}); use --device cpu")
    return torch.device(device)
