"""One recorded episode: collected step by step where it is played, sent whole when it ends.

The worker (or the evaluator) holds an :class:`EpisodeBuffer` only for episodes it records, so
recording costs one check per step otherwise. Each recorded step costs one ``torch.cat`` of the
step's ports (a copy, so later in-place changes cannot reach the record); the episode becomes
numpy arrays once, at its end, as one :class:`EpisodeRecord` (a single message for the writer).
A brain with an episodic memory adds its traffic (:mod:`brain.recording.memory`): per recorded step
one read of the last lookup's neighbours, and the reverse pass's write once the rollout is learnt, so
a worker finishes an episode only after the rollout it ended in has written the memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np
import torch

from brain.recording.memory import MemoryTrace

if TYPE_CHECKING:
    from regions.dnd import DND


@dataclass
class EpisodeRecord:
    """A finished episode, ready to be appended to a recording.

    Attributes:
        activity: ``[T, C]`` float32, the buffered ports' units side by side
            (:meth:`RecordingSpec.columns` says where each port lies).
        pose: ``[T, 3]`` true pose ``(x, z, heading)`` at each step's observation.
        action: ``[T]`` action taken at each step.
        reward: ``[T]`` reward received after each step's action.
        episode: the run's episode number (training) or the evaluation's (evaluation).
        worker: worker rank (0 in evaluation).
        env: the worker's environment that played it (``--envs-per-worker``; 0 for one environment).
        task: task id of the episode.
        success: the trial ended with success.
        ret: the episode's return (sum of rewards, in step order, as in ``episodes.csv``).
        global_step: global environment steps when the episode ended.
        time: wall-clock time when the episode ended (Unix seconds).
        memory: the episodic memory's traffic, dataset name -> ``[T, ...]`` (:func:`brain.recording.memory.datasets`);
            None when the brain has no memory.
    """

    activity: np.ndarray
    pose: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    episode: int
    worker: int
    env: int
    task: str
    success: bool
    ret: float
    global_step: int
    time: float
    memory: dict[str, np.ndarray] | None = None

    @property
    def length(self) -> int:
        return len(self.action)


class EpisodeBuffer:
    """Collects the steps of one episode that will be recorded.

    ``memory``: neighbours per lookup of the brain's episodic memory (``RecordingSpec.memory``; 0: none);
    ``seed`` seeds the random control of its recall (:class:`~brain.recording.memory.MemoryTrace`).
    """

    def __init__(self, keys: tuple[str, ...], memory: int = 0, seed: int = 0):
        self.keys = keys
        self.memory = MemoryTrace(memory, seed) if memory else None
        self._rows: list[torch.Tensor] = []
        self._poses: list[np.ndarray] = []
        self._actions: list[int] = []
        self._rewards: list[float] = []

    def add(self, activity: Mapping[str, torch.Tensor], pose: np.ndarray, action: int, reward: float,
            row: int = 0, memory: DND | None = None) -> int:
        """One step: ``activity`` is ``StepOutput.activity``, of which the episode's environment is batch ``row``;
        ``pose`` is the observation's pose; ``memory`` the brain's episodic memory, just looked up by that step.
        Returns the step's index in the episode."""
        self._rows.append(torch.cat([activity[key][row].reshape(-1) for key in self.keys]).cpu())
        self._poses.append(pose)
        self._actions.append(action)
        self._rewards.append(reward)
        if self.memory is not None:
            self.memory.recall(memory, row, action)
        return len(self._rows) - 1

    def finish(self, *, episode: int, worker: int, task: str, success: bool, global_step: int,
               env: int = 0) -> EpisodeRecord:
        """The collected steps as one record (the buffer is spent afterwards)."""
        if not self._rows:
            raise ValueError("EpisodeBuffer.finish: no steps were added")
        return EpisodeRecord(
            activity=torch.stack(self._rows).numpy(), pose=np.stack(self._poses).astype(np.float32, copy=False),
            action=np.asarray(self._actions, dtype=np.int16), reward=np.asarray(self._rewards, dtype=np.float32),
            episode=episode, worker=worker, env=env, task=task, success=success, ret=float(sum(self._rewards)),
            global_step=global_step, time=time.time(), memory=None if self.memory is None else self.memory.arrays())
