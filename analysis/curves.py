"""Learning curves of runs, overlaid: ``python -m analysis.curves RUN_DIR [RUN_DIR ...] [--out curves.html]``.

The top figure has success rate, return and episode length (trailing means over ``--window``
episodes) against environment steps, one column per task, one colour per run; each worker's
own curves are in the legend, hidden until clicked, to spot a worker that lags or crashed.
The figure below has the training signals the trainer logged to TensorBoard (losses, entropy,
gradient norm, memory occupancy, ...), the same runs overlaid.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.report import add_output_arguments, comparison_page, run_colour, run_command, write_html
from analysis.runs import Episodes, Run, load_runs, task_order, trailing_mean
from analysis.tfevents import Series, read_scalars
from brain.argtypes import number

#: Rows of the episode figure: title and ``Episodes`` column.
EPISODE_ROWS = (("success rate", "success"), ("return", "returns"), ("episode length (steps)", "steps"))
#: TensorBoard tags drawn from ``episodes.csv`` already (exactly, per episode), so left out below.
DRAWN_FROM_EPISODES = ("global/episode/",)
SIGNAL_COLUMNS = 3
ROW_HEIGHT = 260


class _Legend:
    """Shows each legend group once however many panels it spans."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def first(self, group: str) -> bool:
        new = group not in self._seen
        self._seen.add(group)
        return new


def _add_episode_curves(figure: go.Figure, episodes: Episodes, column: int, window: int, name: str,
                        colour: str, legend: _Legend, per_worker: bool) -> None:
    """One trace per row of :data:`EPISODE_ROWS` for these episodes."""
    for row, (_, field) in enumerate(EPISODE_ROWS, start=1):
        figure.add_trace(go.Scatter(
            x=episodes.global_step, y=trailing_mean(getattr(episodes, field), window), mode="lines", name=name,
            legendgroup=name, showlegend=legend.first(name), visible="legendonly" if per_worker else True,
            line=dict(color=colour, width=1 if per_worker else 2, dash="dot" if per_worker else "solid"),
        ), row=row, col=column)


def episode_figure(runs: Sequence[Run], window: int) -> go.Figure:
    """Success, return and length against environment steps; columns are tasks, colours are runs."""
    tasks = sorted({task for run in runs for task in run.episodes.tasks()}, key=task_order)
    figure = make_subplots(rows=len(EPISODE_ROWS), cols=len(tasks), shared_xaxes=True,
                           column_titles=[f"task {task}" for task in tasks],
                           row_titles=[title for title, _ in EPISODE_ROWS], vertical_spacing=0.06)
    legend = _Legend()
    for index, run in enumerate(runs):
        for column, task in enumerate(tasks, start=1):
            episodes = run.episodes.where(run.episodes.task == task)
            if not len(episodes):
                continue
            _add_episode_curves(figure, episodes, column, window, run.label, run_colour(index), legend, False)
            for worker in episodes.workers():
                _add_episode_curves(figure, episodes.where(episodes.worker == worker), column, window,
                                    f"{run.label} worker {worker}", run_colour(index), legend, True)
    figure.update_xaxes(title_text="environment steps", row=len(EPISODE_ROWS))
    figure.update_yaxes(range=[-0.02, 1.02], row=1)
    figure.update_layout(title=f"Learning curves (trailing mean of {window} episodes)",
                         height=ROW_HEIGHT * len(EPISODE_ROWS) + 120, legend_title_text="run")
    return figure


def training_signals(scalars: dict[str, Series]) -> dict[str, Series]:
    """The run-wide TensorBoard scalars not already drawn from the episodes."""
    return {tag: series for tag, series in scalars.items()
            if tag.startswith("global/") and not tag.startswith(DRAWN_FROM_EPISODES)}


def signal_figure(runs: Sequence[Run], signals: Sequence[dict[str, Series]], window: int) -> go.Figure:
    """One panel per training signal, runs overlaid (trailing mean of ``window`` logged points)."""
    tags = sorted({tag for run_signals in signals for tag in run_signals})
    rows = math.ceil(len(tags) / SIGNAL_COLUMNS)
    figure = make_subplots(rows=rows, cols=SIGNAL_COLUMNS, subplot_titles=[t.removeprefix("global/") for t in tags],
                           vertical_spacing=min(0.08, 0.5 / rows))
    legend = _Legend()
    for index, (run, run_signals) in enumerate(zip(runs, signals)):
        for position, tag in enumerate(tags):
            if tag not in run_signals:
                continue
            series = run_signals[tag]
            figure.add_trace(go.Scatter(
                x=series.steps, y=trailing_mean(series.values, window), mode="lines", name=run.label,
                legendgroup=run.label, showlegend=legend.first(run.label), line=dict(color=run_colour(index)),
            ), row=position // SIGNAL_COLUMNS + 1, col=position % SIGNAL_COLUMNS + 1)
    figure.update_xaxes(title_text="environment steps", row=rows)
    figure.update_layout(title=f"Training signals from TensorBoard (trailing mean of {window} points)",
                         height=ROW_HEIGHT * rows + 120, legend_title_text="run")
    return figure


def report(run_dirs: Sequence[Path], out: Path, window: int, plotlyjs: str = "directory") -> str:
    """Write the curves page; the message says what it holds and what was missing."""
    runs = load_runs(run_dirs)
    signals = [training_signals(read_scalars(run.path / "tb")) if (run.path / "tb").is_dir() else {} for run in runs]
    figures = [episode_figure(runs, window)]
    if any(signals):
        figures.append(signal_figure(runs, signals, window))
    write_html(figures, out, "learning curves", plotlyjs)
    notes = [f"\n  {run.path}: no TensorBoard scalars in {run.path / 'tb'}" for run, s in zip(runs, signals) if not s]
    return (f"wrote {out}: {len(runs)} run(s), {sum(len(run.episodes) for run in runs)} episodes, "
            f"{len(set().union(*signals))} training signals" + "".join(notes))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.curves", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories to overlay")
    add_output_arguments(parser, "curves.html (curves-vs-OTHERS.html for several runs)", where="FIRST_RUN")
    parser.add_argument("--window", type=number(int, 1), default=100,
                        help="episodes (and logged points) in each trailing mean (default 100)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = args.out or comparison_page(args.run_dirs, "curves.html")
    return run_command(lambda: report(args.run_dirs, out, args.window, args.plotlyjs), out, args.png)


if __name__ == "__main__":
    sys.exit(main())
