"""Place, grid and head-direction cells in a recording: ``python -m analysis.cells RUN_DIR_or_H5 [--out cells.html]``.

Pools the recorded episodes of one maze (``--maze``, default: the one with the most recorded
steps) and measures every unit of the chosen ports (``--ports``; default the entorhinal grid,
head-direction and place outputs, CA1's place cells and CA3's state, those recorded) against
time-shifted shuffles, each unit against its own (``--threshold pooled``: the port's pooled;
:mod:`analysis.cellstats` says how, including the per-unit shift of signed activity to a zero
minimum). Every recorded step is binned in the rate maps, and the page says how many. It shows:

* the 2017 team's neuroscience checklist with the values measured here (:mod:`analysis.checklist`);
* per port: the share of units beating the shuffles for each measure with the median z-score of its
  units against their shuffles (the effect size), and its sparseness;
* rate maps of the top units by spatial information, gridness and head-direction vector length;
* spatial autocorrelograms of the top grid units and polar tuning curves of the top
  head-direction units.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.cellstats import (MEASURES, THRESHOLDS, Pooled, PortCells, Settings, measure_units, pool,
                                pooled_activity, top_units)
from analysis.checklist import Findings, checklist_rows
from analysis.metrics import autocorrelogram, direction_centres
from analysis.recordings import episodes_in_maze, open_recording, recorded_connectome, resolve_ports
from analysis.report import (AnalysisError, add_output_arguments, default_page, equal_aspect, run_command,
                             table_figure, write_html)
from brain.argtypes import name_list, number

DEFAULT_PORTS = ("entorhinal.grid", "entorhinal.head_direction", "entorhinal.place", "ca1.place_cells", "ca3.state")
PANEL_PX = 240
def checklist_figure(findings: Findings) -> go.Figure:
    return table_figure(["item", "2017 team", "measured here"], checklist_rows(findings),
                  "The 2017 neuroscience checklist, measured", [1.2, 0.7, 6])


def _fraction_text(port: PortCells, measure: str) -> str:
    """Share of significant units and their port's median z-score; the threshold too where all units share it."""
    if measure in port.skipped:
        return "not measured"
    thresholds, effect = port.thresholds[measure], port.effect(measure)
    if not np.isfinite(thresholds).any():
        return f"{port.fraction(measure):.0%} (silent)"
    common = f", above {thresholds[0]:.3f}" if np.all(thresholds == thresholds[0]) else ""
    median = f"median z {np.nanmedian(effect):.1f}" if np.isfinite(effect).any() else "z -"
    return f"{port.fraction(measure):.0%} ({median}{common})"


def binned_steps(ports: Sequence[PortCells], pooled: Pooled) -> str:
    """How many of the pooled steps the rate maps binned (every one, unless a position was not finite)."""
    binned = int(ports[0].maps.occupancy.sum()) if ports else 0
    return f"{binned} of {pooled.steps} recorded steps binned in the rate maps"


def summary_figure(ports: Sequence[PortCells], findings: Findings) -> go.Figure:
    """Per port: units, the share beating the shuffles for each measure (with the effect size), sparseness."""
    header = ["port", "units", *(f"significant: {MEASURES[m]}" for m in MEASURES), "population sparseness"]
    rows = [[port.key, str(port.units), *(_fraction_text(port, m) for m in MEASURES), f"{port.sparseness:.3f}"]
            for port in ports]
    pooled = findings.pooled
    title = (f"Units beating the shuffles: maze {pooled.maze}, {len(pooled.episodes)} episodes, "
             f"{binned_steps(ports, pooled)}<br><sup>significant: a unit's measure beats {findings.criterion}; "
             f"median z: of the port's units, each against its own shuffles</sup>")
    return table_figure(header, rows, title, [1.6, 0.6, 1.6, 1.6, 1.6, 1.2])


def _unit_title(port: PortCells, unit: int, measure: str) -> str:
    value, effect = port.scores[measure].observed[unit], port.effect(measure)[unit]
    mark = " *" if port.significant(measure)[unit] else ""
    return f"{port.key} #{unit}<br>{value:.3f} (z {effect:.1f}){mark}"


def rate_map_figure(ports: Sequence[PortCells], top: int) -> go.Figure:
    """One row per measure: the rate maps of its ``top`` units (``*``: beats the shuffles)."""
    rows = [(measure, top_units(ports, measure, top)) for measure in MEASURES]
    rows = [(measure, units) for measure, units in rows if units]
    if not rows:
        raise AnalysisError("no unit has a finite measure (silent ports?); nothing to draw")
    titles = [title for measure, units in rows
              for title in [_unit_title(port, unit, measure) for port, unit in units] + [""] * (top - len(units))]
    figure = make_subplots(rows=len(rows), cols=top, subplot_titles=titles, horizontal_spacing=0.07,
                           vertical_spacing=min(0.3 / len(rows), 0.15), row_titles=[MEASURES[m] for m, _ in rows])
    for row, (_, units) in enumerate(rows, start=1):
        for col, (port, unit) in enumerate(units, start=1):
            maps = port.maps
            figure.add_trace(go.Heatmap(z=maps.rates[unit], x=maps.x_centres, y=maps.z_centres,
                                        colorbar=_colourbar(figure, row, col),
                                        colorscale="Jet", hovertemplate="x %{x:.1f} m, z %{y:.1f} m: %{z:.3f}"
                                                                        "<extra></extra>"), row=row, col=col)
            equal_aspect(figure, row, col)
    figure.update_annotations(font_size=10)
    figure.update_annotations(selector=dict(textangle=90), xshift=40)  # row titles clear of the last colour bars
    figure.update_layout(title=f"Rate maps of the top units per measure (activity shifted to a zero minimum; "
                               f"* beats the shuffles; x east, z north, metres)",
                         height=PANEL_PX * len(rows) + 120)
    return figure


def _colourbar(figure: go.Figure, row: int, col: int) -> dict:
    """A slim colour bar just right of subplot ``(row, col)``, as tall as it: every map gets its own scale."""
    subplot = figure.get_subplot(row, col)
    (_, right), (bottom, top) = subplot.xaxis.domain, subplot.yaxis.domain
    return dict(x=right + 0.004, xanchor="left", y=(bottom + top) / 2, len=top - bottom, thickness=8,
                tickfont=dict(size=8), outlinewidth=0)


#: Mazes that are one corridor, where position and heading go together; their long axis (0: x east, 1: z north).
CORRIDORS = {"onedim": 1, "onedim_colourless": 1}
#: Colours of the two running directions along a corridor.
DIRECTION_COLOURS = {"north": "rgb(31, 119, 180)", "south": "rgb(255, 127, 14)"}


def direction_profiles(positions: np.ndarray, headings: np.ndarray, activity: np.ndarray, axis: int,
                       bin_size: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean activity along a corridor's ``axis`` per running direction: bin centres and ``{direction: [units, bins]}``.

    A step runs north (or east, for an x corridor) when the heading is within 60 degrees of it, south
    (west) within 60 degrees of the opposite; turns in between count for neither. Bins a direction
    never visited are NaN.
    """
    along = positions[:, axis]
    edges = np.arange(np.floor(along.min()), along.max() + bin_size, bin_size)
    index = np.clip(np.digitize(along, edges) - 1, 0, len(edges) - 2)
    component = np.cos(headings) if axis == 1 else np.sin(headings)  # heading 0 = north, clockwise
    profiles = {}
    for name, mask in (("north", component > 0.5), ("south", component < -0.5)):
        counts = np.bincount(index[mask], minlength=len(edges) - 1).astype(float)
        sums = np.stack([np.bincount(index[mask], weights=unit, minlength=len(edges) - 1) for unit in activity[mask].T])
        with np.errstate(invalid="ignore", divide="ignore"):
            profiles[name] = np.where(counts > 0, sums / counts, np.nan)
    return (edges[:-1] + edges[1:]) / 2, profiles


def direction_agreement(profiles: dict[str, np.ndarray]) -> np.ndarray:
    """Per unit, the correlation of its north and south profiles over bins both visited (NaN when undefined).

    A place cell fires at the same place both ways (near 1); a unit driven by heading, or by
    position only one way, does not.
    """
    north, south = profiles["north"], profiles["south"]
    both = ~np.isnan(north) & ~np.isnan(south)
    result = np.full(len(north), np.nan)
    for unit in range(len(north)):
        a, b = north[unit, both[unit]], south[unit, both[unit]]
        if len(a) > 2 and a.std() > 0 and b.std() > 0:
            result[unit] = float(np.corrcoef(a, b)[0, 1])
    return result


def corridor_figure(recording, pooled, ports: Sequence[PortCells], top: int, bin_size: float) -> go.Figure | None:
    """On a 1-D corridor: activity against position per running direction of the top units by spatial information.

    None in other mazes. On a linear track the agent runs one way out and the other way back, so
    position and heading are confounded and a rate map over both directions cannot tell a place
    cell from a direction-tuned one; the control is the two directions apart.
    """
    axis = CORRIDORS.get(pooled.maze)
    units = top_units(ports, "information", top)
    if axis is None or not units:
        return None
    figure = make_subplots(rows=1, cols=len(units), horizontal_spacing=0.04,
                           subplot_titles=[f"{port.key} #{unit}" for port, unit in units])
    activity = {port.key: pooled_activity(recording, pooled, port.key) for port in {p.key: p for p, _ in units}.values()}
    agreements = []
    for col, (port, unit) in enumerate(units, start=1):
        centres, profiles = direction_profiles(pooled.positions, pooled.headings, activity[port.key][:, [unit]], axis,
                                               bin_size)
        agreements.append(direction_agreement(profiles)[0])
        for name, values in profiles.items():
            figure.add_trace(go.Scatter(x=centres, y=values[0], mode="lines+markers", name=f"running {name}",
                                        legendgroup=name, showlegend=col == 1, marker=dict(size=4),
                                        line=dict(color=DIRECTION_COLOURS[name])), row=1, col=col)
    for annotation, agreement in zip(figure.layout.annotations, agreements):
        annotation.text += f"<br>north/south r {agreement:.2f}" if np.isfinite(agreement) else "<br>north/south r -"
    figure.update_annotations(font_size=10)
    figure.update_xaxes(title_text=f"{'zx'[axis == 0]} (m)")
    figure.update_yaxes(title_text="activity", col=1)
    figure.update_layout(
        title=("Along the corridor, per running direction (top units by spatial information)<br><sup>On a linear "
               "track position and heading go together, so a field on the rate map may be direction tuning. "
               "Control: a place cell fires at the same place both ways (north/south r near 1).</sup>"),
        height=PANEL_PX + 200, margin=dict(t=130), legend=dict(orientation="h", y=-0.25))
    return figure


def autocorrelogram_figure(ports: Sequence[PortCells], top: int) -> go.Figure | None:
    """Spatial autocorrelograms of the ``top`` units by gridness (None when gridness was not taken)."""
    units = top_units(ports, "gridness", top)
    if not units:
        return None
    figure = make_subplots(rows=1, cols=len(units), subplot_titles=[_unit_title(p, u, "gridness") for p, u in units],
                           horizontal_spacing=0.03)
    for col, (port, unit) in enumerate(units, start=1):
        figure.add_trace(go.Heatmap(z=autocorrelogram(port.maps.rates[unit]), zmin=-1, zmax=1, colorscale="RdBu_r",
                                    showscale=col == len(units), hovertemplate="r %{z:.2f}<extra></extra>"),
                         row=1, col=col)
        equal_aspect(figure, 1, col)
    figure.update_xaxes(showticklabels=False)
    figure.update_yaxes(showticklabels=False)
    figure.update_annotations(font_size=10)
    figure.update_layout(title="Spatial autocorrelograms of the top grid units (lag 0 in the centre)",
                         height=PANEL_PX + 140)
    return figure


def tuning_figure(ports: Sequence[PortCells], top: int) -> go.Figure | None:
    """Polar head-direction tuning of the ``top`` units by vector length (north up, east to the right)."""
    units = top_units(ports, "direction", top)
    if not units:
        return None
    figure = make_subplots(rows=1, cols=len(units), specs=[[{"type": "polar"}] * len(units)],
                           subplot_titles=[_unit_title(p, u, "direction") for p, u in units])
    for col, (port, unit) in enumerate(units, start=1):
        curve = port.tuning[unit]
        degrees = np.degrees(direction_centres(len(curve)))
        figure.add_trace(go.Scatterpolar(r=np.append(curve, curve[0]), theta=np.append(degrees, degrees[0]),
                                         mode="lines", fill="toself", showlegend=False), row=1, col=col)
    figure.update_polars(angularaxis=dict(rotation=90, direction="clockwise"), radialaxis=dict(showticklabels=False))
    figure.update_annotations(font_size=10, yshift=20)
    figure.update_layout(title="Head-direction tuning of the top units (mean shifted activity per heading)",
                         height=PANEL_PX + 160)
    return figure


def cell_figures(path: Path, ports: Sequence[str], maze: str | None, settings: Settings,
                 top: int) -> tuple[list[go.Figure], Findings]:
    """The page's figures and what they show; ``ports`` empty means the recorded default ports."""
    with open_recording(path) as recording:
        connectome = recorded_connectome(recording)
        if ports:
            keys = resolve_ports(recording, connectome, ports)
        else:
            keys = [key for key in DEFAULT_PORTS if key in recording.ports]
            if not keys:
                raise AnalysisError(f"{recording.path}: none of the default ports ({', '.join(DEFAULT_PORTS)}) is "
                                    f"recorded; choose some with --ports (recorded: {', '.join(recording.ports)})")
        maze, episodes = episodes_in_maze(recording, maze)
        pooled = pool(recording, episodes)
        measured = [measure_units(key, pooled_activity(recording, pooled, key), pooled, settings) for key in keys]
        findings = Findings(measured, pooled, connectome, settings.criterion())
        figures = [checklist_figure(findings), summary_figure(measured, findings), rate_map_figure(measured, top),
                   corridor_figure(recording, pooled, measured, top, settings.bin_size),
                   autocorrelogram_figure(measured, top), tuning_figure(measured, top)]
        return [figure for figure in figures if figure is not None], findings


def report(path: Path, out: Path, ports: Sequence[str], maze: str | None, settings: Settings, top: int,
           plotlyjs: str = "directory") -> str:
    """Write the page; the message repeats the per-port shares for the terminal."""
    figures, findings = cell_figures(path, ports, maze, settings, top)
    write_html(figures, out, f"cells: {path.name}", plotlyjs)
    pooled = findings.pooled
    lines = [f"wrote {out}: maze {pooled.maze}, {len(pooled.episodes)} episodes, "
             f"{binned_steps(findings.ports, pooled)}; share of units beating {findings.criterion}:"]
    for port in findings.ports:
        shares = ", ".join(f"{MEASURES[m]} {_fraction_text(port, m)}" for m in MEASURES)
        lines.append(f"  {port.key} ({port.units} units): {shares}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m analysis.cells", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, metavar="RUN_DIR_or_H5", help="a run directory or a recording .h5 file")
    add_output_arguments(parser, "cells.html")
    parser.add_argument("--ports", type=name_list, default=[], metavar="A.P,B",
                        help="comma-separated region.port (or region: all its ports) to analyse "
                             f"(default: {', '.join(DEFAULT_PORTS)}, those recorded)")
    parser.add_argument("--maze", default=None, help="maze whose episodes are pooled: onedim, onedim_colourless, "
                                                     "arrow, cross (default: the most recorded)")
    parser.add_argument("--bin-size", type=number(float, 0, low_inclusive=False), default=defaults.bin_size, metavar="M",
                        help=f"rate-map bin in metres (default {defaults.bin_size:g})")
    parser.add_argument("--smoothing", type=number(float, 0), default=defaults.smoothing,
                        metavar="M", help=f"Gaussian smoothing sigma in metres, 0 = none (default "
                                          f"{defaults.smoothing:g})")
    parser.add_argument("--shuffles", type=number(int, 1), default=defaults.shuffles,
                        help=f"time-shifted shuffles per measure (default {defaults.shuffles})")
    parser.add_argument("--percentile", type=number(float, 0, 100, low_inclusive=False), default=defaults.percentile,
                        help=f"percentile of the shuffles a unit must beat (default {defaults.percentile:g})")
    parser.add_argument("--threshold", choices=tuple(THRESHOLDS), default=defaults.threshold,
                        help="whose shuffles set a unit's threshold: unit, its own (default), or pooled, the port's "
                             "pooled over its units (the grid-cell literature's; lets units that vary widely by "
                             "chance pass)")
    parser.add_argument("--top", type=number(int, 1), default=6, help="units shown per measure (default 6)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the shuffles (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings(args.bin_size, args.smoothing, args.shuffles, args.percentile, args.seed, args.threshold)
    out = args.out or default_page(args.path, "cells.html")
    return run_command(lambda: report(args.path, out, args.ports, args.maze, settings, args.top, args.plotlyjs),
                       out, args.png)


if __name__ == "__main__":
    sys.exit(main())
