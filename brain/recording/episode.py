"""One recorded episode: collected step by step where it is played, sent whole when it ends.

The worker (or the evaluator) holds an :class:`EpisodeBuffer` only for episodes it records, so
recording costs one check per step otherwise. Each recorded step costs one ``torch.cat`` of the
step's ports (a copy, so later in-place changes cannot reach the record); the episode becomes
numpy arrays once, at its end, as one :class:`EpisodeRecord` (a single message for the writer).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch


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

    @property
    def length(self) -> int:
        return len(self.action)


class EpisodeBuffer:
    """Collects the steps of one episode that will be recorded."""

    def __init__(self, keys: tuple[str, ...]):
        self.keys = keys
        self._rows: list[torch.Tensor] = []
        self._poses: list[np.ndarray] = []
        self._actions: list[int] = []
        self._rewards: list[float] = []

    def add(self, activity: Mapping[str, torch.Tensor], pose: np.ndarray, action: int, reward: float,
            row: int = 0) -> None:
        """One step: ``activity`` is ``StepOutput.activity``, of which the episode's environment is batch ``row``;
        ``pose`` is the observation's pose."""
        self._rows.append(torch.cat([activity[key][row].reshape(-1) for key in self.keys]).cpu())
        self._poses.append(pose)
        self._actions.append(action)
        self._rewards.append(reward)

    def finish(self, *, episode: int, worker: int, task: str, success: bool, global_step: int,
               env: int = 0) -> EpisodeRecord:
        """The collected steps as one record (the buffer is spent afterwards)."""
        if not self._rows:
            raise ValueError("EpisodeBuffer.finish: no steps were added")
        return EpisodeRecord(
            activity=torch.stack(self._rows).numpy(), pose=np.stack(self._poses).astype(np.float32, copy=False),
            action=np.asarray(self._actions, dtype=np.int16), reward=np.asarray(self._rewards, dtype=np.float32),
            episode=episode, worker=worker, env=env, task=task, success=success, ret=float(sum(self._rewards)),
            global_step=global_step, time=time.time())
