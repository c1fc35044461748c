"""Connectomes side by side: ``python -m analysis.ablation RUN_DIR [RUN_DIR ...] [--out ablation.html]``.

Runs are compared at matched training: each is cut to the environment steps of the shortest run
(``--all-steps`` compares them whole), and the table says how far each run had trained. For each
run and task: the success rate over the last ``--window`` episodes (the table gives the real
number where fewer were played) with its Wilson 95 % interval (honest near 0 and 1, where a
normal interval is not), and the episodes and environment steps it took to first reach
``--criterion`` over a full window (the trainer's ``--until-success`` rule). One table and grouped
bar charts, one colour per run; a value that could not be measured is a hatched band, not a
zero.

Extension point: a :data:`Measure` maps (run, task) to named values. :func:`summarise` runs every
measure it is given and the table shows all their columns; :func:`bar_figure` draws the
:class:`Panel` s it is given. :func:`cells` is such a measure: where a run directory holds a
recording, the share of place, grid and head-direction units among the task's recorded
episodes (:mod:`analysis.cellstats`), so lesions are compared at the cell level too
(``--no-cells`` leaves it out; it costs seconds to minutes per run, mostly gridness shuffles).

Lesions at evaluation: where a run directory holds ``lesions.json`` (``benchmarks/lesions.py``: one
trained brain evaluated with each region silenced), the page adds a section per task: the success
rate of each condition with its Wilson 95 % interval beside its difference to the intact brain with
Newcombe's 95 % interval, and the table with the counts of each run; for water-maze probe trials
the time share of the platform's quadrant against chance and the intact brain, and the site
crossings (:mod:`analysis.lesions`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.cellstats import CELL_TYPES, MEASURES, MIN_STEPS, Settings, cell_fractions
from analysis.lesions import (INTACT, RESULTS_FILE, Study, compare, compare_probes, probe_table, read_study,
                              success_table)
from analysis.probe import CHANCE
from analysis.proportions import wilson_interval
from analysis.report import (AnalysisError, add_output_arguments, comparison_page, run_colour, run_command,
                             table_figure, text_table, write_html)
from analysis.runs import Run, load_runs, trailing_mean
from brain.argtypes import number
from brain.recording import RECORDING_FILE, open_run
from brain.training.progress import WINDOW

Value = float | int | None
Measure = Callable[[Run, str], dict[str, Value]]


@dataclass(frozen=True)
class Row:
    """The measures of one run on one task."""

    run: str
    connectome: str
    trained: str
    compared: str  # the run's steps compared, of the steps it trained
    task: str
    values: dict[str, Value]


@dataclass(frozen=True)
class Panel:
    """One bar chart: a column of the rows, optionally with interval columns and a text for missing values."""

    title: str
    column: str
    low: str | None = None
    high: str | None = None
    missing: str = "n/a"


def first_reaching(success: np.ndarray, window: int, criterion: float) -> int | None:
    """Index of the first episode whose full trailing window succeeds at least ``criterion`` of the time."""
    rates = trailing_mean(success, window)
    reached = np.flatnonzero((np.arange(1, len(success) + 1) >= window) & (rates >= criterion - 1e-12))
    return int(reached[0]) if len(reached) else None


def behaviour(window: int, criterion: float) -> Measure:
    """Success over the last ``window`` episodes of a task and the episodes and steps to ``criterion``.

    Steps to criterion count the task's own episodes' steps, so a curriculum's earlier tasks do not
    inflate them.
    """

    def measure(run: Run, task: str) -> dict[str, Value]:
        episodes = run.episodes.where(run.episodes.task == task)
        recent = episodes.success[-window:]
        low, high = wilson_interval(int(recent.sum()), len(recent))
        reached = first_reaching(episodes.success, window, criterion)
        return {"episodes": len(episodes), "last_episodes": len(recent), "success": float(recent.mean()),
                "success_low": low, "success_high": high,
                "episodes_to_criterion": None if reached is None else reached + 1,
                "steps_to_criterion": None if reached is None else int(episodes.steps[:reached + 1].sum())}

    return measure


def behaviour_panels(window: int, criterion: float) -> tuple[Panel, ...]:
    return (Panel(f"success over the last {window} episodes (Wilson 95 % interval)", "success",
                  "success_low", "success_high"),
            Panel(f"environment steps to {criterion:.0%} success", "steps_to_criterion", missing="not reached"))


def cells(settings: Settings) -> Measure:
    """Share of units of each classic cell type (``cellstats.CELL_TYPES``) in the task's recorded episodes.

    None where the run has no recording, the task too few recorded steps, or the type's port was
    not recorded (a removed region); a silenced region's units count, and none is significant.
    """
    unknown = dict.fromkeys((cell.name for cell in CELL_TYPES), None)

    def measure(run: Run, task: str) -> dict[str, Value]:
        if not (run.path / RECORDING_FILE).is_file():
            return dict(unknown)
        with open_run(run.path) as recording:
            episodes = recording.select(task=task)
            if run.cut is not None:
                episodes = [e for e in episodes if recording.index["global_step"][e] <= run.cut]
            if int(recording.index["length"][episodes].sum()) < MIN_STEPS:
                return dict(unknown)
            return dict(cell_fractions(recording, episodes, settings))

    return measure


def cell_panels(settings: Settings) -> tuple[Panel, ...]:
    return tuple(Panel(f"share of {cell.name.replace('_', ' ')}: {cell.port} units whose {MEASURES[cell.measure]} "
                       f"beats {settings.criterion()}", cell.name, missing="not measured")
                 for cell in CELL_TYPES)


def matched(runs: Sequence[Run]) -> tuple[list[Run], int]:
    """Every run cut to the environment steps of the shortest, and that step count.

    A longer run has more episodes and a better-trained brain; cut, the runs compare connectomes
    at equal experience.
    """
    step = min(run.total_steps for run in runs)
    cut = [run.until(step) for run in runs]
    for run in cut:
        if not len(run.episodes):
            raise AnalysisError(f"{run.path}: no episode had ended by step {step:,} (where the shortest run stops); "
                                f"compare the runs whole with --all-steps")
    return cut, step


def _compared(run: Run) -> str:
    seen = run.total_steps if run.cut is None else min(run.cut, run.total_steps)
    return f"{seen:,} of {run.total_steps:,}"


def summarise(runs: Sequence[Run], measures: Sequence[Measure]) -> list[Row]:
    """One row per run and task the run played, with every measure's values."""
    rows = []
    for run in runs:
        connectome, config = run.connectome_name(), run.config()
        trained = "curriculum" if config.curriculum else config.task
        for task in run.episodes.tasks():
            values: dict[str, Value] = {}
            for measure in measures:
                values.update(measure(run, task))
            rows.append(Row(run.label, connectome, trained, _compared(run), task, values))
    return rows


def _format(value: Value) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:.3f}"


def _columns(rows: Sequence[Row]) -> list[str]:
    """Value columns in first-seen order."""
    return list(dict.fromkeys(key for row in rows for key in row.values))


def table_cells(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings: what the HTML table and the terminal show."""
    columns = _columns(rows)
    header = ["run", "connectome", "trained on", "steps compared (of trained)", "task",
              *(column.replace("_", " ") for column in columns)]
    body = [[row.run, row.connectome, row.trained, row.compared, row.task, *(_format(row.values.get(c)) for c in columns)]
            for row in rows]
    return header, body


def runs_table(rows: Sequence[Row], title: str = "Runs by task") -> go.Figure:
    return table_figure(*table_cells(rows), title)


def _run_name(row: Row) -> str:
    return row.connectome if row.connectome == row.run else f"{row.connectome} ({row.run})"


#: How a bar without a value is drawn: a hatched band over the panel's height, unlike a zero (no bar, "0").
MISSING_PATTERN = "/"


def _bar_text(panel: Panel, row: Row, window: int) -> str:
    """Text on a bar: the missing reason, "0" for a zero, the real N of a success window that fell short."""
    value, played = row.values.get(panel.column), row.values.get("last_episodes", window)
    if value is None:
        return panel.missing
    if panel.column == "success" and played < window:
        return f"{value:.2f}, last {played}"
    return "0" if value == 0 else ""


def bar_figure(rows: Sequence[Row], panels: Sequence[Panel], window: int, title: str) -> go.Figure:
    """Grouped bars per task, one colour per run, one chart per panel.

    A missing value is a hatched band as high as the panel's largest value, so that it cannot be
    read as a zero; a zero has no bar and says "0".
    """
    figure = make_subplots(rows=len(panels), cols=1, subplot_titles=[panel.title for panel in panels],
                           vertical_spacing=0.15)
    runs = list(dict.fromkeys(row.run for row in rows))
    for number, panel in enumerate(panels, start=1):
        measured = [row.values.get(panel.column) for row in rows]
        band = max([float(v) for v in measured if v is not None] + [1.0]) * (1.0 if number == 1 else 1.05)
        for index, run in enumerate(runs):
            mine = [row for row in rows if row.run == run]
            values = [row.values.get(panel.column) for row in mine]
            error = None
            if panel.low and panel.high:
                spans = [(0, 0) if v is None else (row.values[panel.high] - v, v - row.values[panel.low])
                         for row, v in zip(mine, values)]
                error = dict(type="data", array=[up for up, _ in spans], arrayminus=[down for _, down in spans])
            colour = run_colour(index)
            figure.add_trace(go.Bar(
                x=[row.task for row in mine], y=[band if v is None else v for v in values], error_y=error,
                text=[_bar_text(panel, row, window) for row in mine],
                textposition="outside", cliponaxis=False, name=_run_name(mine[0]), legendgroup=run,
                showlegend=number == 1, customdata=["missing" if v is None else "measured" for v in values],
                marker=dict(color=["rgba(0, 0, 0, 0)" if v is None else colour for v in values],
                            line=dict(color=colour, width=1),
                            pattern=dict(shape=[MISSING_PATTERN if v is None else "" for v in values],
                                         fgcolor=colour, solidity=0.15)),
            ), row=number, col=1)
    figure.update_xaxes(title_text="task", type="category")
    figure.update_yaxes(range=[0, 1.12], row=1)
    figure.update_layout(barmode="group", title=title, height=380 * len(panels) + 100,
                         legend_title_text="connectome (run)")
    return figure


#: Colour of the intact brain's bar, the control every lesion is set against.
CONTROL_COLOUR = "#7f7f7f"


def studies(run_dirs: Sequence[Path]) -> list[tuple[Path, Study]]:
    """The lesion studies (``RUN_DIR/lesions.json``) of the run directories, each once."""
    paths = dict.fromkeys((run_dir / RESULTS_FILE).resolve() for run_dir in run_dirs
                          if (run_dir / RESULTS_FILE).is_file())
    return [(path, read_study(path)) for path in paths]


def _study_title(path: Path, study: Study, what: str) -> str:
    connectomes = ", ".join(dict.fromkeys(run.connectome for run in study.runs))
    settings = study.settings
    policy = "greedy" if settings.get("greedy") else "sampled"
    return (f"Lesions at evaluation: {what}, {connectomes}, {len(study.runs)} run(s)<br><sup>"
            f"{settings.get('episodes', '?')} episodes per condition and run, {policy} policy, seed "
            f"{settings.get('seed', '?')}; from {path}</sup>")


def _bars(conditions: Sequence[str], values: Sequence[float], intervals: Sequence[tuple[float, float]],
          colours: Sequence[str], sign: str = "") -> go.Bar:
    """Bars with their intervals as error bars; hovering shows the value and the interval."""
    return go.Bar(x=list(conditions), y=list(values), marker_color=list(colours), showlegend=False,
                  customdata=[list(interval) for interval in intervals],
                  hovertemplate=f"%{{x}}: %{{y:{sign}.1%}} [%{{customdata[0]:{sign}.1%}}, "
                                f"%{{customdata[1]:{sign}.1%}}]<extra></extra>",
                  error_y=dict(type="data", array=[high - v for v, (_, high) in zip(values, intervals)],
                               arrayminus=[v - low for v, (low, _) in zip(values, intervals)]))


Difference = tuple[float, float, float] | None


def conditions_figure(title: str, subtitles: tuple[str, str], conditions: Sequence[str], values: Sequence[float],
                      intervals: Sequence[tuple[float, float]], texts: Sequence[str],
                      differences: Sequence[Difference]) -> go.Figure:
    """A share per condition with its interval (the intact brain grey), beside each lesion's difference to the
    intact brain with its interval (``differences``: value, low, high; None for the intact brain).

    ``texts`` (the counts behind each share) go under the condition's name: on the bar they would
    collide with the interval.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=list(subtitles), horizontal_spacing=0.08)
    colours = [CONTROL_COLOUR if condition == INTACT else run_colour(0) for condition in conditions]
    figure.add_trace(_bars(conditions, values, intervals, colours), row=1, col=1)
    lesioned = [(condition, d) for condition, d in zip(conditions, differences) if d is not None]
    figure.add_trace(_bars([c for c, _ in lesioned], [d[0] for _, d in lesioned], [d[1:] for _, d in lesioned],
                           [run_colour(0)] * len(lesioned), sign="+"), row=1, col=2)
    figure.add_hline(y=0, line=dict(color="black", width=1), row=1, col=2)
    figure.update_xaxes(type="category", title_text="condition (region silenced)", categoryorder="array",
                        categoryarray=list(conditions))
    figure.update_xaxes(tickvals=list(conditions), ticktext=[f"{c}<br>{t}" for c, t in zip(conditions, texts)],
                        row=1, col=1)
    figure.update_yaxes(range=[0, 1.12], tickformat=".0%", row=1, col=1)
    figure.update_yaxes(tickformat="+.0%", row=1, col=2)
    figure.update_layout(title=title, height=520, margin=dict(t=110))
    return figure


def lesion_section(found: Sequence[tuple[Path, Study]]) -> tuple[list[go.Figure], list[str]]:
    """Per study and task a figure and a table of the conditions (and of the probe trials), and the tables as
    text for the terminal."""
    figures, lines = [], []
    for path, study in found:
        for task in study.tasks():
            rows, title = compare(study.outcomes, task), _study_title(path, study, f"task {task}")
            figures.append(conditions_figure(
                title, ("success rate (Wilson 95 % interval)", "difference to the intact brain (Newcombe 95 % interval)"),
                [row.condition for row in rows], [row.rate for row in rows], [row.interval for row in rows],
                [f"{row.successes}/{row.episodes}" for row in rows], [row.difference for row in rows]))
            table = success_table(rows)
            figures.append(table_figure(*table, title))
            lines += [f"lesions at evaluation, task {task} ({path}):", text_table(*table)]
        for task in study.probe_tasks():
            rows = compare_probes(study.probes, task)
            title = _study_title(path, study, f"task {task}, probe trials (platform removed, 60 s)")
            figure = conditions_figure(
                title, ("time in the platform's quadrant (bootstrap 95 % interval)",
                        "difference to the intact brain (bootstrap 95 % interval)"),
                [row.condition for row in rows], [row.summary.target_share for row in rows],
                [row.summary.target_interval for row in rows], [f"{row.summary.episodes} trials" for row in rows],
                [row.difference for row in rows])
            figure.add_hline(y=CHANCE, line=dict(color="black", dash="dash", width=1), annotation_text="chance",
                             annotation_position="top left", row=1, col=1)
            table = probe_table(rows)
            figures += [figure, table_figure(*table, title)]
            lines += [f"lesions at evaluation, task {task} probe trials ({path}):", text_table(*table)]
    return figures, lines


def report(run_dirs: Sequence[Path], out: Path, window: int, criterion: float, cell_settings: Settings | None,
           all_steps: bool = False, plotlyjs: str = "directory") -> str:
    """Write the ablation page; the message repeats the table for the terminal.

    ``cell_settings`` None leaves the cell measure out; its bars appear when some run has values.
    Runs are cut to the shortest one's steps unless ``all_steps``.
    """
    measures, panels = [behaviour(window, criterion)], list(behaviour_panels(window, criterion))
    if cell_settings is not None:
        measures.append(cells(cell_settings))
    runs = load_runs(run_dirs)
    if all_steps:
        span = "each run whole (--all-steps): runs trained for different steps are not matched"
    else:
        runs, step = matched(runs)
        span = f"each run at its first {step:,} environment steps (the shortest run's length)"
    rows = summarise(runs, measures)
    if cell_settings is not None:
        panels += [panel for panel in cell_panels(cell_settings)
                   if any(row.values.get(panel.column) is not None for row in rows)]
    title = f"Connectomes side by side<br><sup>{span}</sup>"
    lesion_figures, lesion_lines = lesion_section(studies(run_dirs))
    write_html([bar_figure(rows, panels, window, title), runs_table(rows, f"Runs by task: {span}"), *lesion_figures],
               out, "ablation", plotlyjs)
    return "\n".join([f"wrote {out}: {len(run_dirs)} run(s), {len(rows)} rows; compared {span}",
                      text_table(*table_cells(rows)), *lesion_lines])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.ablation", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories to compare")
    add_output_arguments(parser, "ablation.html (ablation-vs-OTHERS.html for several runs)", where="FIRST_RUN")
    parser.add_argument("--window", type=number(int, 1), default=WINDOW,
                        help=f"episodes in the success rate and the criterion (default {WINDOW}, as the trainer)")
    parser.add_argument("--criterion", type=number(float, 0, 1, low_inclusive=False), default=0.8,
                        help="success rate that counts as learned (default 0.8)")
    parser.add_argument("--cell-shuffles", type=number(int, 1), default=Settings().shuffles, metavar="N",
                        help="shuffles of the cell measure on runs with a recording (default %(default)s)")
    parser.add_argument("--no-cells", action="store_true", help="leave the cell measure out")
    parser.add_argument("--all-steps", action="store_true",
                        help="compare every episode of each run, not each run cut to the shortest run's steps")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cell_settings = None if args.no_cells else Settings(shuffles=args.cell_shuffles)
    out = args.out or comparison_page(args.run_dirs, "ablation.html")
    return run_command(lambda: report(args.run_dirs, out, args.window, args.criterion, cell_settings, args.all_steps,
                                      args.plotlyjs), out, args.png)


if __name__ == "__main__":
    sys.exit(main())
