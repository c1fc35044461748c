"""What the workers and the recording writer tell the master: one small record per kind of news.

Events cross process boundaries (a multiprocessing queue, or Ray for the Ray backend), so each
is a frozen dataclass of plain values that pickles by its module path; the master
(:class:`~brain.training.trainer.Trainer`) handles them by type. Both the training workers and
the recording writer send them, so they live beside both rather than inside either.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpisodeEnded:
    """Environment ``env`` of ``worker`` finished an episode of ``task``: ``steps`` steps, ``ticks`` physics ticks."""

    worker: int
    env: int
    task: str
    steps: int
    ret: float
    success: bool
    ticks: int

    def row(self) -> dict[str, object]:
        """The episode's columns of ``episodes.csv`` (:data:`~brain.training.rundir.EPISODE_FIELDS`, but the time
        and the global step, which the master adds)."""
        return {"worker": self.worker, "env": self.env, "task": self.task, "steps": self.steps, "ticks": self.ticks,
                "return": self.ret, "success": self.success}


@dataclass(frozen=True)
class Updated:
    """``worker`` applied one rollout's gradients at global step ``step``; ``terms``: each loss term by name."""

    worker: int
    step: int
    terms: dict[str, float]


@dataclass(frozen=True)
class NonFiniteLoss:
    """``worker``'s loss was not finite, so it skipped the update; ``terms`` says which term went wrong."""

    worker: int
    terms: dict[str, float]


@dataclass(frozen=True)
class WorkerFailed:
    """``worker`` raised an exception and dies (the master restarts it)."""

    worker: int
    traceback: str


@dataclass(frozen=True)
class RecordingDropped:
    """``worker`` dropped a recorded episode because the recording writer's queue was full."""

    worker: int


@dataclass(frozen=True)
class RecordingFailed:
    """The recording writer failed; recording stops and the training goes on."""

    traceback: str


Event = EpisodeEnded | Updated | NonFiniteLoss | WorkerFailed | RecordingDropped | RecordingFailed
