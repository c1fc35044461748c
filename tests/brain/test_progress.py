"""The training progress display: a bar that keeps its total past the budget, plain lines without a terminal."""

from __future__ import annotations

import io
from itertools import count

from brain.training.progress import ProgressBar, ProgressLines, Rates, Status, progress_display, terminal_width


def clock(step: float = 1.0):
    """A fake clock advancing ``step`` seconds at each reading."""
    ticks = count()
    return lambda: next(ticks) * step


def test_the_bar_keeps_its_percentage_when_workers_overshoot_the_budget():
    out = io.StringIO()
    bar = ProgressBar(total=3000, initial=0, stream=out, clock=clock())
    bar.update(Status(1500, 0, 0.0, "-", over=0))
    bar.update(Status(3020, 15, 0.07, "1-3"))
    bar.close()
    last = out.getvalue().split("\r")[-1]
    assert "100%" in last and "3020/3020" in last
    assert "steps/s recent" in last and "average" in last and "15 episodes" in last and "task 1-3" in last


def test_without_a_terminal_the_display_prints_plain_lines_every_interval():
    out = io.StringIO()
    assert terminal_width(out) == 0 and isinstance(progress_display(100, 0, out), ProgressLines)
    lines = ProgressLines(total=1000, initial=0, stream=out, every=10, clock=clock(4.0))  # reads the clock at 0 s
    for steps in (100, 200, 300, 400, 500):  # at 4, 8, 12, 16, 20 s: printed at 4 and 16 (12 s apart)
        lines.update(Status(steps, steps // 100, 0.25, "1-1", over=steps // 100))
    lines.update(Status(1020, 11, 0.5, "1-2", over=2))  # past the budget
    lines.close()
    printed = out.getvalue().splitlines()
    assert printed == [
        "training: 100/1,000 steps (10%), steps/s recent 25 average 25, 1 episodes, success 25% (last 1), task 1-1",
        "training: 400/1,000 steps (40%), steps/s recent 25 average 25, 4 episodes, success 25% (last 4), task 1-1",
        "training: 1,020/1,020 steps (100%), steps/s recent 60 average 42, 11 episodes, success 50% (last 2), task 1-2",
    ]


def test_recent_rate_follows_the_last_seconds_and_average_the_whole_run():
    rates = Rates(initial=0, now=0.0)
    for second in range(1, 21):
        recent, average = rates.add(100 * second if second <= 10 else 1000 + 300 * (second - 10), float(second))
    assert recent == 300 and average == 4000 / 20


def test_a_terminal_without_columns_gets_plain_lines(monkeypatch):
    class ZeroColumns(io.StringIO):
        def isatty(self) -> bool:
            return True

        def fileno(self) -> int:
            return 2

    monkeypatch.setattr("os.get_terminal_size", lambda fd: __import__("os").terminal_size((0, 24)))
    assert terminal_width(ZeroColumns()) == 0 and isinstance(progress_display(10, 0, ZeroColumns()), ProgressLines)
    monkeypatch.setattr("os.get_terminal_size", lambda fd: __import__("os").terminal_size((120, 24)))
    display = progress_display(10, 0, ZeroColumns())
    assert isinstance(display, ProgressBar)
    display.close()


def test_before_any_episode_success_is_not_shown_as_zero():
    out = io.StringIO()
    lines = ProgressLines(total=10, initial=0, stream=out, clock=clock())
    lines.update(Status(5, 0, 0.0, "-", over=0))
    assert "success -," in out.getvalue() and "0%" not in out.getvalue().split("steps/s")[1]
