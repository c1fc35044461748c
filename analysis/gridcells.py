"""The cells page of a path-integration pre-training: its grid units against the untrained region's.

``python -m analysis.cells runs/paths`` draws it when ``runs/paths`` is what ``python -m
brain.pretrain_paths`` wrote (:mod:`analysis.pretraining` reads and checks it). The pre-training
took the measures itself; the page shows them, computing only the intervals and effect sizes:

* the run's settings and how many samples each rate map pools;
* the findings: per network, units with a finite gridness, median and largest gridness, the shares
  above each unit's own shuffles' 95th percentile and above all units' shuffles pooled, each with its
  Wilson 95 % interval, and the trained-minus-untrained difference with Newcombe's interval; the
  probability that a trained unit's gridness exceeds an untrained one's; the held-out losses;
* the training losses against minutes and against updates;
* the shares of grid units and the held-out losses over training (``--measure-minutes``);
* the gridness distributions with the pooled thresholds, and each unit against its own threshold;
* rate maps and autocorrelograms of the top units by gridness, trained and untrained;
* spacing and orientation of the grid units (above the pooled threshold).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.controls import superiority
from analysis.metrics import false_positive_rate
from analysis.pretraining import NETWORKS, PROGRESS_COLUMNS, Network, Pretraining, read_pretraining
from analysis.proportions import difference_interval, wilson_interval
from analysis.report import AnalysisError, colourbar_beside, equal_aspect, run_colour, table_figure, write_html
from brain.pretrain_paths import covered_square

#: Each network's colour in every figure: the trained region, and its control in grey.
COLOURS = {"trained": run_colour(0), "untrained": "rgb(127, 127, 127)"}
#: The two thresholds a grid unit's gridness must exceed, as the page names them.
CRITERIA = {"unit": "above its own shuffles' 95th percentile", "pooled": "above the 95th percentile of all units' "
                                                                        "shuffles pooled"}
#: Each threshold as a unit's title names it.
MARKS = {"pooled": "pooled", "unit": "own"}
#: The percentile of the shuffles that ``brain.pretrain_paths`` thresholds at.
PERCENTILE = 95.0
#: Most points per loss curve: longer runs are shown as means over blocks of consecutive updates.
MAX_POINTS = 1000
#: Width of the gridness histograms' bins.
GRIDNESS_BIN = 0.05
#: Pixels of a row of maps.
PANEL_PX = 230
#: Recording-only flags of ``analysis.cells`` that a pre-training output cannot take: its measures are taken.
RECORDING_FLAGS = ("ports", "maze", "bin_size", "smoothing", "shuffles", "percentile", "threshold", "seed",
                   "controls")


def _count(share: float, units: int) -> int:
    return round(share * units)


def _share_text(count: int, units: int) -> str:
    low, high = wilson_interval(count, units)
    return f"{count} of {units} = {count / units:.1%} (95 % CI {low:.1%}-{high:.1%})"


def _difference_text(count: int, base: int, units: int) -> str:
    low, high = difference_interval(count, units, base, units)
    return f"{(count - base) / units * 100:+.1f} points (95 % CI {low * 100:+.1f} to {high * 100:+.1f})"


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _median_max(values: np.ndarray) -> str:
    finite = _finite(values)
    return f"{np.median(finite):.3f} ({finite.max():.3f})" if len(finite) else "- (no finite gridness)"


def circular_orientation(degrees: np.ndarray) -> tuple[float, float]:
    """Mean orientation of grids (degrees modulo 60) and its resultant length (1: all alike, 0: spread evenly)."""
    six_fold = np.exp(6j * np.radians(degrees)).mean()
    return float(np.degrees(np.angle(six_fold)) / 6 % 60), float(abs(six_fold))


def geometry_text(network: Network) -> str:
    """How many grid units there are (pooled threshold), how many have six-fold peaks, their spacing and orientation."""
    report = network.report
    spacing, orientation = np.asarray(report.spacing_m, float), np.asarray(report.orientation_deg, float)
    found = np.isfinite(spacing)
    head = f"{len(spacing)} grid unit{'s' * (len(spacing) != 1)}, {found.sum()} with autocorrelogram peaks"
    if not found.any():
        return head
    mean, length = circular_orientation(orientation[found])
    return (f"{head}: spacing median {np.median(spacing[found]):.2f} m (range {spacing[found].min():.2f}-"
            f"{spacing[found].max():.2f}), orientation {mean:.0f} deg (resultant length {length:.2f})")


def settings_figure(run: Pretraining) -> go.Figure:
    """What was trained, how long, and what each rate map pools."""
    s = run.settings
    samples = run.networks["trained"].report.samples
    x_min, x_max, _, _ = covered_square()
    weights = s.loss_weights or "1 each"
    duration = f"{run.training_seconds / 60:.1f} minutes" if run.training_seconds >= 60 else \
        f"{run.training_seconds:.0f} s"
    limit = f"--minutes {s.minutes:g}" + (f", --updates {s.updates}" if s.updates else "")
    rows = [
        ["region", f"{s.region} of the connectome {s.connectome}, driven by self-motion alone"],
        ["training", f"{run.updates:,} updates in {duration} ({limit}; torch threads: {s.threads})"],
        ["samples trained", f"{int(run.losses['samples'][-1]):,} steps of foraging: {s.batch} fresh trajectories of "
                            f"{s.steps} steps per update"],
        ["optimiser", f"Adam, learning rate {s.lr:g}, weight decay {s.weight_decay:g}, loss weights {weights}; "
                      f"seed {s.seed}"],
        ["samples per rate map", f"{samples:,}: {s.eval_batch:,} held-out trajectories of {s.steps} steps, all pooled "
                                 f"into every unit's map (mean {samples / s.bins ** 2:,.0f} per bin)"],
        ["rate maps", f"{s.bins} x {s.bins} bins of {run.bin_size:.2f} m over the {x_max - x_min:.1f} m square the "
                      f"agent's centre covers; smoothing {s.smoothing:g} m; activity shifted to a zero minimum"],
        ["shuffles", f"{s.shuffles} circular time shifts of each unit's activity (at least a tenth of the pooled "
                     f"steps); an untuned unit beats its own {PERCENTILE:g}th percentile with probability "
                     f"{false_positive_rate(PERCENTILE, s.shuffles):.1%}"],
    ]
    return table_figure(["setting", "value"], rows, f"Path-integration pre-training: {run.path}", [1, 6])


def findings_rows(run: Pretraining) -> list[list[str]]:
    """The findings table's rows: each measure for the trained and the untrained region, and the effect size."""
    trained, untrained = (run.networks[name] for name in NETWORKS)
    units = trained.report.units
    finite = {name: _finite(network.gridness) for name, network in run.networks.items()}
    effect = superiority(finite["trained"], finite["untrained"])
    rows = [["units of the grid port", str(units), str(untrained.report.units), ""],
            ["units with a finite gridness (a central autocorrelogram peak)",
             *(str(len(finite[name])) for name in NETWORKS), ""],
            ["gridness: median (largest), units with a finite one",
             *(_median_max(run.networks[name].gridness) for name in NETWORKS),
             f"P(trained > untrained) {effect:.2f} (0.5: no difference)" if np.isfinite(effect) else "-"]]
    for criterion, label in CRITERIA.items():
        counts = [_count(getattr(run.networks[name].report, f"share_{criterion}"), units) for name in NETWORKS]
        cells = [_share_text(count, units) for count in counts]
        if criterion == "pooled":
            cells = [f"{cell}; threshold {run.networks[name].report.pooled_threshold:.3f}"
                     for cell, name in zip(cells, NETWORKS)]
        chance = f"; chance {false_positive_rate(PERCENTILE, run.settings.shuffles):.1%}" if criterion == "unit" else ""
        rows.append([f"grid units: gridness {label}", *cells, _difference_text(*counts, units) + chance])
    rows.append(["grid units' spacing and orientation", *(geometry_text(run.networks[name]) for name in NETWORKS), ""])
    for loss, value in trained.report.loss.items():
        base = untrained.report.loss.get(loss, math.nan)
        rows.append([f"held-out loss: {loss}", f"{value:.3f}", f"{base:.3f}", f"{value - base:+.3f}"])
    return rows


def findings_figure(run: Pretraining) -> go.Figure:
    units = run.networks["trained"].report.units
    title = (f"Grid units of the trained region against the untrained (the same initial weights, before the first "
             f"update), {units} units each<br><sup>95 % CI: Wilson for a share, Newcombe for a difference, treating "
             f"the two networks' units as independent samples<br>P(trained > untrained): the probability that a "
             f"trained unit's gridness exceeds an untrained one's, over units with a finite gridness</sup>")
    return table_figure(["measure", "trained", "untrained", "trained - untrained"], findings_rows(run), title,
                        [2.2, 2.2, 2.2, 1.6])


def _blocks(values: np.ndarray, size: int) -> np.ndarray:
    """Means of consecutive blocks of ``size`` values (the last block may be shorter)."""
    starts = np.arange(0, len(values), size)
    return np.add.reduceat(values, starts) / np.diff(np.append(starts, len(values)))


def loss_figure(run: Pretraining) -> go.Figure:
    """Every column of ``losses.csv`` against training time and against updates."""
    losses = [key for key in run.losses if key not in PROGRESS_COLUMNS]
    block = max(1, math.ceil(len(run.losses["update"]) / MAX_POINTS))
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=["against training time", "against updates"])
    axes = {1: _blocks(run.losses["seconds"], block) / 60, 2: _blocks(run.losses["update"], block)}
    for index, key in enumerate(losses):
        name = "loss (weighted sum)" if key == "loss" and run.settings.loss_weights else \
            "loss (sum)" if key == "loss" else key
        for col, x in axes.items():
            figure.add_trace(go.Scatter(x=x, y=_blocks(run.losses[key], block), mode="lines", name=name,
                                        legendgroup=key, showlegend=col == 1, line=dict(color=run_colour(index + 2))),
                             row=1, col=col)
    figure.update_xaxes(title_text="minutes", row=1, col=1)
    figure.update_xaxes(title_text="updates", row=1, col=2)
    figure.update_yaxes(title_text="cross-entropy (nats)", row=1, col=1)
    averaged = f" (means of {block} consecutive updates)" if block > 1 else ""
    figure.update_layout(title=f"Training losses, {run.updates:,} updates{averaged}", height=380)
    return figure


def over_training_figure(run: Pretraining) -> go.Figure:
    """The shares of grid units and the held-out losses at each measure, from the untrained region (0 minutes) on."""
    measures = run.over_training
    if measures is None:
        figure = go.Figure()
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        figure.add_annotation(text="measured before and after training only (this output has no grid_over_training"
                                   ".csv):<br>rerun python -m brain.pretrain_paths with --measure-minutes",
                              x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
        figure.update_layout(title="Grid units over training: not measured", height=300)
        return figure
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                           subplot_titles=["share of grid units", "held-out loss"])
    minutes = measures["seconds"] / 60
    for index, (key, label) in enumerate((("share_pooled", "pooled"), ("share_unit", "unit"))):
        figure.add_trace(go.Scatter(x=minutes, y=100 * measures[key], mode="lines+markers",
                                    line=dict(color=run_colour(index)), name=CRITERIA[label]), row=1, col=1)
    held_out = [key for key in measures if key.startswith("held_out_")]
    for index, key in enumerate(held_out):
        figure.add_trace(go.Scatter(x=minutes, y=measures[key], mode="lines+markers", name=key.replace("_", " "),
                                    line=dict(color=run_colour(index + 2))), row=1, col=2)
    figure.update_xaxes(title_text="minutes of training (0: the untrained region)")
    figure.update_yaxes(title_text="% of units", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title_text="cross-entropy (nats)", row=1, col=2)
    figure.update_layout(title=f"Grid units over training: {len(minutes)} measures on the same "
                               f"{run.networks['trained'].report.samples:,} held-out steps",
                         height=420, legend=dict(orientation="h", y=-0.25))
    return figure


def gridness_figure(run: Pretraining) -> go.Figure:
    """The gridness of the trained and the untrained units with their pooled thresholds; each unit against its own."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                           subplot_titles=["units per gridness bin; dashed: pooled 95th percentile",
                                           "each unit against its own shuffles' 95th percentile"])
    values = np.concatenate([_finite(network.gridness) for network in run.networks.values()])
    low, high = (math.floor(values.min() / GRIDNESS_BIN), math.ceil(values.max() / GRIDNESS_BIN)) \
        if len(values) else (-1, 1)
    edges = np.arange(low, max(high, low + 1) + 1) * GRIDNESS_BIN
    tallest = 1
    for name, network in run.networks.items():
        finite, colour = _finite(network.gridness), COLOURS[name]
        counts, _ = np.histogram(finite, edges)
        tallest = max(tallest, int(counts.max()))
        figure.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=GRIDNESS_BIN, opacity=0.6,
                                marker_color=colour, legendgroup=name,
                                name=f"{name}: {len(finite)} of {network.report.units} units with a finite gridness"),
                         row=1, col=1)
    for name, network in run.networks.items():
        threshold = network.report.pooled_threshold
        figure.add_trace(go.Scatter(x=[threshold, threshold], y=[0, tallest], mode="lines", legendgroup=name,
                                    line=dict(color=COLOURS[name], dash="dash"),
                                    name=f"{name}: pooled 95th percentile {threshold:.3f}"), row=1, col=1)
    _own_thresholds(figure, run.networks.values())
    figure.update_xaxes(title_text="gridness", row=1, col=1)
    figure.update_yaxes(title_text="units", row=1, col=1)
    figure.update_layout(barmode="overlay", height=460, legend=dict(orientation="h", y=-0.22),
                         title="Gridness of the trained and the untrained units against the shuffles")
    return figure


def _own_thresholds(figure: go.Figure, networks: Sequence[Network]) -> None:
    """Right panel: each unit's gridness against its own threshold, with the diagonal that units must rise above."""
    thresholds = [network.own_thresholds for network in networks]
    if any(values is None for values in thresholds):
        (left, right), (bottom, top) = figure.get_subplot(1, 2).xaxis.domain, figure.get_subplot(1, 2).yaxis.domain
        figure.add_annotation(text="this cells.json holds no per-unit thresholds<br>(written before "
                                   "brain.pretrain_paths stored them);<br>the table gives the share above them",
                              x=(left + right) / 2, y=(bottom + top) / 2, xref="paper", yref="paper", showarrow=False)
        figure.update_xaxes(visible=False, row=1, col=2)
        figure.update_yaxes(visible=False, row=1, col=2)
        return
    shown = []
    for network, own in zip(networks, thresholds):
        both = np.isfinite(own) & np.isfinite(network.gridness)
        shown.append(np.concatenate([own[both], network.gridness[both]]))
        figure.add_trace(go.Scatter(x=own[both], y=network.gridness[both], mode="markers", legendgroup=network.name,
                                    marker=dict(color=COLOURS[network.name], size=5, opacity=0.7),
                                    name=f"{network.name}: a unit ({both.sum()} with both finite)",
                                    hovertemplate="threshold %{x:.3f}, gridness %{y:.3f}<extra></extra>"),
                         row=1, col=2)
    span = np.concatenate(shown)
    if len(span):
        line = [float(span.min()), float(span.max())]
        figure.add_trace(go.Scatter(x=line, y=line, mode="lines", line=dict(color="black", width=1),
                                    name="gridness = own threshold (units above it pass)"), row=1, col=2)
    figure.update_xaxes(title_text="own 95th percentile of its shuffles", row=1, col=2)
    figure.update_yaxes(title_text="gridness", row=1, col=2)


def _mark(network: Network, unit: int) -> str:
    """Which thresholds a unit's gridness beats, for its title."""
    passing = network.passing()
    above = [MARKS[key] for key, units in passing.items() if units[unit]]
    named = above or [MARKS[key] for key in passing]  # where it lies above none: those it was compared with
    return f"{'above' if above else 'below'} {' and '.join(named)} threshold{'s' * (len(named) > 1)}"


def top_by_gridness(network: Network, top: int) -> list[int]:
    """The ``top`` units with the highest finite gridness, best first."""
    order = np.argsort(-np.nan_to_num(network.gridness, nan=-np.inf), kind="stable")
    return [int(unit) for unit in order[:top] if np.isfinite(network.gridness[unit])]


def inner_ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of ``step`` at least a quarter step inside ``(low, high)``: no tick label at an axis end, where the
    x and y labels of a map's corner would overlap."""
    first, last = math.ceil((low + step / 4) / step), math.floor((high - step / 4) / step)
    return [round(k * step, 6) for k in range(first, last + 1)]


def maps_figure(run: Pretraining, network: Network, top: int) -> go.Figure:
    """Rate maps (each with its colour bar) and autocorrelograms of the network's ``top`` units by gridness."""
    units, report = top_by_gridness(network, top), network.report
    shown = (f"the top {len(units)} of {report.units} units by gridness ({len(_finite(network.gridness))} with a "
             f"finite one)")
    title = (f"{network.name.capitalize()}: rate maps and autocorrelograms of {shown}<br><sup>each rate map pools "
             f"{report.samples:,} samples ({run.settings.bins} x {run.settings.bins} bins of {run.bin_size:.2f} m; x "
             f"east, z north); titles: gridness and the thresholds it beats (pooled: "
             f"{report.pooled_threshold:.3f}; own: of the unit's own shuffles)</sup>")
    if not units:
        figure = go.Figure()
        figure.add_annotation(text="no unit has a finite gridness: no rate map to rank", showarrow=False)
        figure.update_layout(title=title, height=200, xaxis_visible=False, yaxis_visible=False)
        return figure
    titles = [f"#{unit}: gridness {network.gridness[unit]:.3f}<br>{_mark(network, unit)}" for unit in units]
    figure = make_subplots(rows=2, cols=len(units), subplot_titles=titles + [""] * len(units),
                           horizontal_spacing=0.08, vertical_spacing=0.12)  # room for a colour bar's 0.0005
    centres = run.centres()
    lags = (np.arange(2 * len(centres) - 1) - (len(centres) - 1)) * run.bin_size
    for col, unit in enumerate(units, start=1):
        figure.add_trace(go.Heatmap(z=network.rate_maps[unit], x=centres, y=centres, colorscale="Jet",
                                    colorbar=colourbar_beside(figure, 1, col),
                                    hovertemplate="x %{x:.2f} m, z %{y:.2f} m: %{z:.3f}<extra></extra>"),
                         row=1, col=col)
        figure.add_trace(go.Heatmap(z=network.autocorrelograms[unit], x=lags, y=lags, zmin=-1, zmax=1,
                                    colorscale="RdBu_r", showscale=col == len(units),
                                    colorbar=colourbar_beside(figure, 2, col),
                                    hovertemplate="lag %{x:.2f}, %{y:.2f} m: r %{z:.2f}<extra></extra>"),
                         row=2, col=col)
        for row, values, step in ((1, centres, 0.5), (2, lags, 1.0)):
            ticks = inner_ticks(values[0] - run.bin_size / 2, values[-1] + run.bin_size / 2, step)
            figure.update_xaxes(tickvals=ticks, row=row, col=col)
            figure.update_yaxes(tickvals=ticks, row=row, col=col)
            equal_aspect(figure, row, col)
    figure.update_yaxes(title_text="rate map: z (m)", row=1, col=1)
    figure.update_yaxes(title_text="autocorrelogram: lag (m)", row=2, col=1)
    figure.update_annotations(font_size=10)
    figure.update_layout(title=title, height=2 * PANEL_PX + 150)
    return figure


def geometry_figure(run: Pretraining) -> go.Figure:
    """Spacing against orientation of each network's grid units; says so where none passed."""
    figure = go.Figure()
    for name, network in run.networks.items():
        spacing = np.asarray(network.report.spacing_m, float)
        figure.add_trace(go.Scatter(x=spacing, y=network.report.orientation_deg, mode="markers",
                                    marker=dict(color=COLOURS[name], size=8, opacity=0.7),
                                    name=name,
                                    hovertemplate="spacing %{x:.2f} m, orientation %{y:.0f} deg<extra></extra>"))
    counted = sum(len(network.report.spacing_m) for network in run.networks.values())
    if not counted:
        figure.add_annotation(text="no unit of either network passed the pooled 95th percentile: no grid to measure",
                              x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    figure.update_xaxes(title_text="spacing (m): median distance of the six nearest autocorrelogram peaks",
                        rangemode="tozero")
    figure.update_yaxes(title_text="orientation (deg from east, mod 60)", range=[0, 60],
                        tickvals=[15, 30, 45, 60])  # none at 0, where the spacing axis's 0 is
    each = "<br>".join(f"{name}: {geometry_text(network)}" for name, network in run.networks.items())
    figure.update_layout(title=f"Spacing and orientation of the grid units (above the pooled 95th percentile)"
                               f"<br><sup>{each}</sup>", margin=dict(t=130),
                         height=500, showlegend=True, legend=dict(orientation="h", y=-0.25))
    return figure


def figures(run: Pretraining, top: int) -> list[go.Figure]:
    return [settings_figure(run), findings_figure(run), loss_figure(run), over_training_figure(run),
            gridness_figure(run),
            *(maps_figure(run, run.networks[name], top) for name in NETWORKS), geometry_figure(run)]


def report(path: Path, out: Path, top: int, plotlyjs: str = "directory", flags: Sequence[str] = ()) -> str:
    """Write the page of the pre-training output at ``path``; the message repeats the findings for the terminal.

    ``flags``: recording-only flags the user gave, refused (the pre-training measured its cells itself).
    """
    if flags:
        raise AnalysisError(f"{', '.join(flags)}: not for a path-integration pre-training output ({path}), whose cells "
                            f"python -m brain.pretrain_paths measured itself (its --bins, --smoothing, --shuffles); "
                            f"rerun it to change them")
    run = read_pretraining(path)
    write_html(figures(run, top), out, f"cells: {path.name} (path-integration pre-training)", plotlyjs)
    lines = [f"wrote {out}: path-integration pre-training, {run.updates:,} updates, "
             f"{run.networks['trained'].report.samples:,} samples per rate map"]
    lines += [f"  {row[0]}: trained {row[1]} | untrained {row[2]}" + (f" | {row[3]}" if row[3] else "")
              for row in findings_rows(run)]
    return "\n".join(lines)
