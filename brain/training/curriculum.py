"""The run's curriculum: one position for the whole run, moved on by the 2017 completion rule over the run's trials.

The 2017 agent played one environment, and its trials decided when a task was complete (successes
minus failures over the last 100 trials > 21, ``tasks.rules``). A run here plays many environments
at once (workers x environments per worker). Were each to advance on its own trials, every one of
them would have to meet the rule before the brain saw the next task, and the slowest environment
would hold a learned task for thousands of episodes. So the master pools the trials of the current
task from all environments, in the order they end, applies the rule to that one record, and tells
the workers the new position; each environment switches when its current episode ends (episodes of
the old task still under way finish, and do not count for the new one).

Only the embedded simulator switches this way; a Unity build runs its own curriculum per player.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from brain.training.config import TrainConfig
from tasks.rules import CURRICULUM, TrialRecord, trial_window

#: The 2017 task order (the repository's December 2017 rules, as the embedded simulator plays them).
ORDER: tuple[str, ...] = CURRICULUM["dec2017"]
#: The table of completed tasks in the run directory.
COMPLETIONS_FILE = "curriculum.csv"


def follows_run_curriculum(cfg: TrainConfig) -> bool:
    """Whether the run's environments take their task from the run's curriculum position (embedded only)."""
    return cfg.curriculum and cfg.env == "embedded"


@dataclass(frozen=True)
class Completion:
    """A task the run completed: its trials counted, and the run's steps and training minutes at completion."""

    task: str
    episodes: int
    steps: int
    minutes: float


class RunCurriculum:
    """Position of the run in :data:`ORDER` and the pooled trial record of its current task.

    Example:
        >>> curriculum = RunCurriculum()
        >>> [curriculum.add("1-1", True, steps=10 * n) for n in range(22)][-1] is None
        True
        >>> curriculum.add("1-1", True, steps=230).task, curriculum.task
        ('1-1', '1-2')
    """

    def __init__(self, position: int = 0, history: str = "", episodes: int = 0, minutes: float = 0.0,
                 completions: tuple[Completion, ...] = ()):
        self.position = position
        self.record = TrialRecord(trial_window("dec2017"), history)
        self.episodes = episodes  # trials of the current task counted so far
        self.completions = list(completions)
        self._minutes_before, self._since = minutes, time.time()  # training time before this process

    @property
    def task(self) -> str | None:
        """The task the run trains now; None once the last one is complete."""
        return ORDER[self.position] if self.position < len(ORDER) else None

    @property
    def finished(self) -> bool:
        return self.task is None

    def minutes(self) -> float:
        """Training minutes of the run so far (over resumes)."""
        return self._minutes_before + (time.time() - self._since) / 60

    def add(self, task: str, success: bool, steps: int) -> Completion | None:
        """Book a trial that ended; the completion when it completed the current task (then the next one is current).

        As in the 2017 rule, a success completes the task when the record before it already has S - F > 21.
        Trials of another task than the current one (episodes still under way at a switch) are not counted.
        """
        if task != self.task:
            return None
        self.episodes += 1
        if success and self.record.completes_task():
            completion = Completion(task, self.episodes, steps, round(self.minutes(), 2))
            self.completions.append(completion)
            self.position, self.episodes = self.position + 1, 0
            self.record.clear()
            return completion
        self.record.add(success)
        return None

    def state(self) -> dict:
        """What a checkpoint keeps to resume the curriculum where it was."""
        return {"position": self.position, "history": self.record.history(), "episodes": self.episodes,
                "minutes": self.minutes(), "completions": [asdict(c) for c in self.completions]}

    @classmethod
    def from_state(cls, state: dict) -> "RunCurriculum":
        return cls(state["position"], state["history"], state["episodes"], state["minutes"],
                   tuple(Completion(**c) for c in state["completions"]))


def append_completion(run_dir: Path, completion: Completion) -> None:
    """Add a row to ``curriculum.csv`` (task, episodes, steps, minutes at completion), flushed at once."""
    path = run_dir / COMPLETIONS_FILE
    new = not path.is_file()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(completion)))
        if new:
            writer.writeheader()
        writer.writerow(asdict(completion))
