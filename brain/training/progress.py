"""What the trainer shows while it runs: a tqdm bar on a terminal, plain periodic lines anywhere else.

A bar needs a terminal that reports its width; piped to a file, under a job scheduler or in a
terminal that reports zero columns, tqdm would draw nothing (or a line per refresh), so there
the run prints one self-contained line every ``every`` seconds instead. Workers finish their
rollouts after the step budget is reached, so a run ends a little past ``--steps``: the bar's
total grows with it and keeps showing a percentage.

Example (plain lines, as in a log file)::

    >>> import io
    >>> out = io.StringIO()
    >>> display = ProgressLines(total=1000, initial=0, stream=out, every=0, clock=iter([0.0, 2.0, 2.0]).__next__)
    >>> display.update(Status(steps=500, episodes=4, success=0.5, task="1-3", over=4))
    >>> print(out.getvalue().strip())
    training: 500/1,000 steps (50%), steps/s recent 250 average 250, 4 episodes, success 50% (last 4), task 1-3
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol, TextIO

from tqdm import tqdm

#: Episodes over which the progress display's and the summary's success rate is computed.
WINDOW = 100
#: Seconds over which the "recent" steps per second are measured.
RECENT_S = 10.0
#: Seconds between two plain progress lines.
LINE_EVERY_S = 30.0


@dataclass(frozen=True)
class Status:
    """The run as the master sees it: global steps, finished episodes, success over the task's last ``over``
    episodes (at most :data:`WINDOW`), the current task."""

    steps: int
    episodes: int
    success: float
    task: str
    over: int = WINDOW


class Rates:
    """Steps per second: recent (the last ``RECENT_S`` seconds) and average (since the display started)."""

    def __init__(self, initial: int, now: float) -> None:
        self._start = (now, initial)
        self._samples: deque[tuple[float, int]] = deque([(now, initial)])

    def add(self, steps: int, now: float) -> tuple[float, float]:
        """Record ``steps`` at ``now``; return (recent, average) steps per second."""
        self._samples.append((now, steps))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RECENT_S:
            self._samples.popleft()
        (then, before), (began, first) = self._samples[0], self._start
        recent = (steps - before) / (now - then) if now > then else 0.0
        average = (steps - first) / (now - began) if now > began else 0.0
        return recent, average


class Display(Protocol):
    """How the trainer reports: :class:`ProgressBar` or :class:`ProgressLines`."""

    rates: tuple[float, float]

    def update(self, status: Status) -> None: ...

    def write(self, message: str) -> None: ...

    def close(self) -> None: ...


def _summary(status: Status, recent: float, average: float) -> str:
    success = f"success {status.success:.0%} (last {status.over})" if status.over else "success -"
    return f"steps/s recent {recent:.0f} average {average:.0f}, {status.episodes} episodes, {success}, task {status.task}"


class ProgressBar:
    """A tqdm bar whose total follows the steps past the budget, so that it keeps its percentage."""

    def __init__(self, total: int, initial: int, stream: TextIO, clock: Callable[[], float] = time.time) -> None:
        self._bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, desc="training",
                         mininterval=1.0, file=stream)
        self._clock, self._rates = clock, Rates(initial, clock())
        self.rates = (0.0, 0.0)

    def update(self, status: Status) -> None:
        self.rates = recent, average = self._rates.add(status.steps, self._clock())
        if status.steps > self._bar.total:
            self._bar.total = status.steps
        self._bar.update(status.steps - self._bar.n)
        self._bar.set_postfix_str(_summary(status, recent, average), refresh=False)

    def write(self, message: str) -> None:
        self._bar.write(message)

    def close(self) -> None:
        self._bar.close()


class ProgressLines:
    """One line every ``every`` seconds (and a last one on close), for logs and width-less terminals."""

    def __init__(self, total: int, initial: int, stream: TextIO, every: float = LINE_EVERY_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._total, self._stream, self._every, self._clock = total, stream, every, clock
        self._rates = Rates(initial, clock())
        self._last: Status | None = None
        self._printed = -float("inf")
        self.rates = (0.0, 0.0)

    def update(self, status: Status) -> None:
        now = self._clock()
        self.rates = self._rates.add(status.steps, now)
        self._last = status
        if now - self._printed >= self._every:
            self._print()
            self._printed = now

    def _print(self) -> None:
        status, total = self._last, max(self._total, self._last.steps)
        self.write(f"training: {status.steps:,}/{total:,} steps ({status.steps / max(total, 1):.0%}), "
                   f"{_summary(status, *self.rates)}")

    def write(self, message: str) -> None:
        print(message, file=self._stream, flush=True)

    def close(self) -> None:
        if self._last is not None:
            self._print()


def terminal_width(stream: TextIO) -> int:
    """Columns of the terminal ``stream`` writes to; 0 when it is no terminal or reports no width."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (OSError, ValueError, AttributeError):
        return 0


def progress_display(total: int, initial: int, stream: TextIO | None = None) -> Display:
    """A bar on a terminal that reports its width, plain periodic lines everywhere else."""
    stream = stream or sys.stderr
    if terminal_width(stream) > 0:
        return ProgressBar(total, initial, stream)
    return ProgressLines(total, initial, stream)
