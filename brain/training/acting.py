"""Acting on a batch of environments: one ``Brain.step`` for N environments stepped one after another.

:func:`act` is the one acting step of the A3C worker (:mod:`brain.training.a3c`) and of
``brain.evaluate``. Batching is what makes the brain cheap per environment step: at batch 1 a step
is ~185 small operations whose fixed costs dominate; at batch N the same operations serve N
environments (PAAC, A2C, Sample Factory). The simulators are cheap (~0.3 ms a step), so a plain
loop over them in the worker's own process is enough; each environment keeps its own episode and
reset, and gives the brain's ports itself (:class:`~brain.training.environment.ConnectomeInputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import gymnasium
import numpy as np
import torch

if TYPE_CHECKING:
    from brain.engine import Brain, StepOutput
    from brain.recording import EpisodeBuffer

#: How acting picks one action per row of the policy's logits ``[N, A]``: :func:`sample_actions` or
#: :func:`greedy_actions`.
Choose = Callable[[torch.Tensor], list[int]]


class EnvironmentBatch:
    """N environments seen by the brain as one batch: row ``i`` of every port is environment ``i``.

    Each environment's observations are the brain's ``env.*`` ports (wrapped in
    :class:`~brain.training.environment.ConnectomeInputs`); besides them the batch keeps whether the
    next brain step starts an episode in each row (``resets``). Every reset gets ``reset_options``
    (e.g. ``{"probe": True}``: every water-maze trial a probe trial).

    Example:
        >>> import tasks
        >>> from brain.training.environment import ConnectomeInputs
        >>> envs = [ConnectomeInputs(tasks.make("1-1"), ("depth", "reward")) for _ in range(2)]
        >>> batch = EnvironmentBatch(envs, seeds=[0, 1])
        >>> {key: tuple(port.shape) for key, port in batch.ports().items()}
        {'depth': (2, 1, 32, 32), 'reward': (2, 1)}
        >>> batch.resets().tolist()
        [True, True]
        >>> batch.close()
    """

    def __init__(self, envs: Sequence[gymnasium.Env], seeds: Sequence[int | None], device: torch.device | str = "cpu",
                 reset_options: Mapping[str, Any] | None = None):
        if len(envs) != len(seeds):
            raise ValueError(f"EnvironmentBatch: {len(envs)} environments but {len(seeds)} seeds")
        self.envs, self.device = list(envs), torch.device(device)
        self.reset_options = dict(reset_options) if reset_options else None
        first = [env.reset(seed=seed, options=self.reset_options) for env, seed in zip(self.envs, seeds)]
        self.observations = [obs for obs, _ in first]
        self.infos = [info for _, info in first]
        self.starts = np.ones(len(self.envs), dtype=bool)  # the next brain step starts an episode in these rows

    def __len__(self) -> int:
        return len(self.envs)

    def ports(self) -> dict[str, torch.Tensor]:
        """The brain's ``env.*`` ports, ``[N, ...]`` on the batch's device."""
        ports = {key: torch.from_numpy(np.stack([obs[key] for obs in self.observations]))
                 for key in self.observations[0]}
        if self.device.type != "cpu":
            ports = {key: port.to(self.device, non_blocking=True) for key, port in ports.items()}
        return ports

    def resets(self) -> torch.Tensor | None:
        """``reset`` for ``Brain.step``: the rows that start an episode, or None when none does."""
        return torch.from_numpy(self.starts.copy()).to(self.device) if self.starts.any() else None

    def step(self, index: int, action: int) -> tuple[float, bool, dict]:
        """Apply ``action`` in environment ``index``: its reward, whether its episode ended, and its ``info``.

        An ended episode is not reset here: the caller reads the final ``info`` and calls :meth:`reset`.
        """
        obs, reward, terminated, truncated, info = self.envs[index].step(action)
        done = bool(terminated or truncated)
        self.observations[index], self.infos[index] = obs, info
        self.starts[index] = done
        return float(reward), done, info

    def reset(self, index: int, seed: int | None = None) -> None:
        """Start environment ``index``'s next episode (its next brain step resets its state row)."""
        self.observations[index], self.infos[index] = self.envs[index].reset(seed=seed, options=self.reset_options)
        self.starts[index] = True

    def replace(self, index: int, env: gymnasium.Env, seed: int) -> None:
        """Put ``env`` in row ``index`` (the old environment is closed) and start its first episode."""
        self.envs[index].close()
        self.envs[index] = env
        self.reset(index, seed)

    def close(self) -> None:
        for env in self.envs:
            env.close()


@dataclass
class ActingStep:
    """One brain step on a batch and what the environments answered; row ``i`` is environment ``i``."""

    ports: dict[str, torch.Tensor]  # the observations acted on, [N, ...] each
    resets: np.ndarray  # [N] bool: the step started the row's episode
    infos: list[dict]  # the info of each observation acted on (the teachers and the recording read it)
    output: StepOutput
    actions: list[int]
    rewards: np.ndarray  # [N] float32: reward received after the action (0 in a row not stepped)
    dones: np.ndarray  # [N] bool: the step ended the row's episode
    recorded: list[tuple[EpisodeBuffer, int] | None]  # [N] the buffer that recorded the row's step and its index


def act(brain: Brain, envs: EnvironmentBatch, state: dict[str, torch.Tensor], choose: Choose,
        buffers: Sequence[EpisodeBuffer | None] = (), rows: Sequence[int] | None = None,
        ) -> tuple[ActingStep, dict[str, torch.Tensor]]:
    """One ``brain.step`` on every environment of ``envs``, and the chosen actions applied: the next state too.

    ``rows``: the environments to step (default: all; an evaluation lets those that are done idle).
    ``buffers[i]``, where given and not None, records row ``i``'s step, with what the step read from the
    brain's episodic memory. Ended episodes are not reset: the caller reads their final ``info``
    (``envs.infos``) and calls ``envs.reset``.
    """
    ports, infos = envs.ports(), list(envs.infos)
    resets = envs.starts.copy()
    output, state = brain.step(ports, state, envs.resets())
    actions = choose(output.logits)
    rewards, dones = np.zeros(len(envs), dtype=np.float32), np.zeros(len(envs), dtype=bool)
    recorded: list[tuple[EpisodeBuffer, int] | None] = [None] * len(envs)
    for index in range(len(envs)) if rows is None else rows:
        rewards[index], dones[index], _ = envs.step(index, actions[index])
        buffer = buffers[index] if buffers else None
        if buffer is not None:
            memory = next((region.memory for region in brain.regions.values() if region.holds_memory), None)
            recorded[index] = (buffer, buffer.add(output.activity, np.asarray(infos[index]["pose"], dtype=np.float32),
                                                  actions[index], float(rewards[index]), row=index, memory=memory))
    return ActingStep(ports, resets, infos, output, actions, rewards, dones, recorded), state


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
