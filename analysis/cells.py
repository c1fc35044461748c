"""Place, grid and head-direction cells in a recording: ``python -m analysis.cells RUN_DIR_or_H5 [--out cells.html]``.

Pools the recorded episodes of one maze (``--maze``, default: the one with the most recorded
steps) and measures every unit of the chosen ports (``--ports``; default the entorhinal grid,
head-direction and place outputs, CA1's place cells and CA3's state, those recorded) against
time-shifted shuffles, each unit against its own (``--threshold pooled``: the port's pooled;
:mod:`analysis.cellstats` says how, including the per-unit shift of signed activity to a zero
minimum). Every recorded step is binned in the rate maps, and the page says how many.

The control is built in (``--controls K``, default 3): untrained brains of the recorded connectome
(seeds ``0 .. K-1``) are shown the same observations, the recorded episodes replayed through the
simulator (:mod:`analysis.replay`), and measured the same way; a unit counts as found only when it
beats its own shuffles and the untrained brains' units (:mod:`analysis.controls`). Ports fitted
to a teacher are reported as supervised, with how well they match it (:mod:`analysis.supervised`),
never as cells found. It shows:

* the 2017 team's neuroscience checklist with the values measured here (:mod:`analysis.checklist`);
* the episodic memory's recall and value accuracy against their controls (:mod:`analysis.episodic`;
  its radius is the rate-map bin, ``--bin-size``);
* per port: whether a teacher fits it, and for each measure the share of units found against the
  control, the shares beating the shuffles of the recorded and of the untrained brains with their
  median z-scores, and the effect size against the control; its sparseness;
* per supervised port: how well the recorded and the untrained brains match its teacher;
* the run's trained brain perturbed beside the untrained ones (``--no-perturbations`` leaves it out):
  CA3 given part of its input, and the grid code in the dark (:mod:`analysis.perturbations`);
* rate maps of the top units by spatial information, gridness and head-direction vector length;
* spatial autocorrelograms of the top grid units and polar tuning curves of the top
  head-direction units.

Given the output directory of ``python -m brain.pretrain_paths`` instead, it draws that run's grid
units against the untrained region's (:mod:`analysis.gridcells`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import gridcells
from analysis.cellstats import (MEASURES, THRESHOLDS, Pooled, PortCells, Settings, measure_units, pool,
                                pooled_activity, pooled_rewards, shifted, top_units)
from analysis.checklist import MATCH_FORMATS, Findings, checklist_rows, match_text, spread
from analysis.controls import Control
from analysis.episodic import episodic_figure, measure_memory, memory_row
from analysis.metrics import autocorrelogram, direction_centres
from analysis.pretraining import is_pretraining
from analysis.recordings import episodes_in_maze, open_recording, recorded_connectome, resolve_ports
from analysis.perturbation_figures import perturbation_figures
from analysis.perturbations import (CHECKLIST_ITEMS, Perturbations, perturbation_keys, run_perturbations,
                                    trained_for_perturbations)
from analysis.replay import DEFAULT_CONTROLS, replay, replayed_activity, untrained_brains
from analysis.report import (AnalysisError, add_output_arguments, colourbar_beside, default_page, equal_aspect,
                             run_command, table_figure, write_html)
from analysis.supervised import supervised_ports, supervision
from brain.argtypes import name_list, number
from brain.recording import Recording

DEFAULT_PORTS = ("entorhinal.grid", "entorhinal.head_direction", "entorhinal.place", "ca1.place_cells", "ca3.state")
PANEL_PX = 240
#: Rate maps fewer bins wide than this have no x tick labels (they piled up on the 1-D corridor's one-bin strip).
NARROW_BINS = 3
#: Pixels from a row's last map to its title: past that map's colour bar and its tick labels (6 characters).
ROW_TITLE_SHIFT = 60
#: Angular ticks of the polar tuning curves: compass points, short enough that neighbouring plots' labels stay apart.
COMPASS = {"N": 0, "NE": 45, "E": 90, "SE": 135, "S": 180, "SW": 225, "W": 270, "NW": 315}


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


def _measure_text(findings: Findings, port: PortCells, measure: str, sep: str = "; ") -> str:
    """A port's cell of the summary for one measure: found against the control (or why not counted), the shuffle
    shares of the recorded and the untrained brains, and the effect size."""
    if measure in port.skipped:
        return "not measured"
    control = findings.controlled(port, measure)
    trained = f"trained: {_fraction_text(port, measure)} beat the shuffles"
    if port.key in findings.supervised:
        head = "supervised: not counted"
    elif control is None:
        head = "not measured in the untrained brains: not a finding" if findings.controls else \
            f"{findings.control}: not a finding"
    else:
        held_out = control.held_out(measure)
        calibration = f" (untrained held out: {spread(held_out)})" if len(held_out) else ""
        head = f"found {control.fraction(measure):.0%}{calibration}"
    if control is None:
        return sep.join([head, trained])
    untrained = (f"untrained: {spread(control.untrained_fractions(measure))}, median z "
                 f"{spread(control.untrained_effects(measure), '{:.1f}')}")
    effect = control.effect(measure)
    return sep.join([head, trained, untrained,
                     f"P(trained > untrained) {effect:.2f}" if np.isfinite(effect) else "P(trained > untrained) -"])


def _kind(findings: Findings, port: PortCells) -> str:
    supervised = findings.supervised.get(port.key)
    return "could emerge" if supervised is None else f"supervised by its teacher {supervised.teacher!r}"


def binned_steps(ports: Sequence[PortCells], pooled: Pooled) -> str:
    """How many of the pooled steps the rate maps binned (every one, unless a position was not finite)."""
    binned = int(ports[0].maps.occupancy.sum()) if ports else 0
    return f"{binned} of {pooled.steps} recorded steps binned in the rate maps"


def summary_figure(ports: Sequence[PortCells], findings: Findings) -> go.Figure:
    """Per port: units, what fits it, for each measure the share found against the control with the shuffle shares
    and the effect size, sparseness."""
    header = ["port", "units", "tuning", *(MEASURES[m] for m in MEASURES), "population sparseness"]
    rows = [[port.key, str(port.units), _kind(findings, port), *(_measure_text(findings, port, m) for m in MEASURES),
             f"{port.sparseness:.3f}"] for port in ports]
    pooled = findings.pooled
    found = (f"found: a unit beats {findings.criterion} and {findings.control}" if findings.controls else
             f"{findings.control}: units beating {findings.criterion} are no finding")
    title = (f"Cells found: maze {pooled.maze}, {len(pooled.episodes)} episodes, {binned_steps(ports, pooled)}"
             f"<br><sup>{found}<br>untrained: the same connectome untrained, shown the same observations; median z: "
             f"each unit against its own shuffles; supervised: fitted to a teacher, never counted<br>"
             f"control: {findings.replay or findings.control}</sup>")
    return table_figure(header, rows, title, [1.4, 0.5, 1.0, 1.9, 1.9, 1.9, 0.9])


def supervised_figure(findings: Findings) -> go.Figure | None:
    """Per supervised port: its teacher and how well the recorded and the untrained brains match it (None: none)."""
    if not findings.supervised:
        return None
    rows = []
    for key, match in findings.supervised.items():
        figures = {name: (trained, untrained) for name, trained, untrained in match.figures()}
        cells = []
        for name in MATCH_FORMATS:
            if name not in figures:
                cells.append("-")
                continue
            trained, untrained = figures[name]
            text = MATCH_FORMATS[name][1]
            control = f"; untrained: {spread(untrained, text)}" if len(untrained) else ""
            cells.append(f"{text.format(trained) if np.isfinite(trained) else '-'}{control}")
        rows.append([key, f"{match.teacher}: {match.doc}" + (f"; {match.trained.note}" if match.trained.note else ""),
                     *cells])
    header = ["port", "teacher", *(label for label, _ in MATCH_FORMATS.values())]
    title = ("Supervised: matches its teacher (a teacher's loss fits these ports unit by unit, so their tuning is "
             "imposed, not found)<br><sup>unit-teacher r: each unit against its teacher unit over the steps; peaks: "
             "rate-map peak against the teacher field's centre (units whose centre was visited); preferred direction "
             "against the teacher cell's (90 deg: no relation)</sup>")
    return table_figure(header, rows, title, [1.2, 3.0, 1.0, 1.0, 1.0, 1.0])


def _counted(port: PortCells, unit: int, measure: str, findings: Findings | None) -> str:
    """The mark of a unit in its figure's title: ``*`` counted (found against the control; without one, beats
    its shuffles), ``sup.`` for a supervised port."""
    if findings is not None and port.key in findings.supervised:
        return " sup."
    control = findings.controlled(port, measure) if findings is not None else None
    counted = control.found(measure)[unit] if control is not None else port.significant(measure)[unit]
    return " *" if counted else ""


def _star(findings: Findings | None) -> str:
    """What the figures' ``*`` means on this page."""
    if findings is not None and findings.controls:
        return "* found: beats its shuffles and the untrained control; sup.: supervised, fitted to a teacher"
    return "* beats the shuffles (no control)"


def _unit_title(port: PortCells, unit: int, measure: str, findings: Findings | None = None) -> str:
    value, effect = port.scores[measure].observed[unit], port.effect(measure)[unit]
    return f"{port.key} #{unit}<br>{value:.3f} (z {effect:.1f}){_counted(port, unit, measure, findings)}"


def rate_map_figure(ports: Sequence[PortCells], top: int, findings: Findings | None = None) -> go.Figure:
    """One row per measure: the rate maps of its ``top`` units (marked as :func:`_star` says)."""
    rows = [(measure, top_units(ports, measure, top)) for measure in MEASURES]
    rows = [(measure, units) for measure, units in rows if units]
    if not rows:
        raise AnalysisError("no unit has a finite measure (silent ports?); nothing to draw")
    titles = [title for measure, units in rows
              for title in [_unit_title(port, unit, measure, findings) for port, unit in units]
              + [""] * (top - len(units))]
    figure = make_subplots(rows=len(rows), cols=top, subplot_titles=titles, horizontal_spacing=0.07,
                           vertical_spacing=min(0.3 / len(rows), 0.15), row_titles=[MEASURES[m] for m, _ in rows])
    for row, (_, units) in enumerate(rows, start=1):
        for col, (port, unit) in enumerate(units, start=1):
            maps = port.maps
            figure.add_trace(go.Heatmap(z=maps.rates[unit], x=maps.x_centres, y=maps.z_centres,
                                        colorbar=colourbar_beside(figure, row, col),
                                        colorscale="Jet", hovertemplate="x %{x:.1f} m, z %{y:.1f} m: %{z:.3f}"
                                                                        "<extra></extra>"), row=row, col=col)
            equal_aspect(figure, row, col)
            if len(maps.x_centres) < NARROW_BINS:  # a corridor's map: a strip with no room for x tick labels
                figure.update_xaxes(showticklabels=False, row=row, col=col)
    figure.update_annotations(font_size=10)
    figure.update_annotations(selector=dict(textangle=90), xshift=ROW_TITLE_SHIFT)
    figure.update_layout(title=f"Rate maps of the top units per measure (activity shifted to a zero minimum; "
                               f"x east, z north, metres)<br><sup>{_star(findings)}</sup>",
                         height=PANEL_PX * len(rows) + 120)
    return figure


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


def autocorrelogram_figure(ports: Sequence[PortCells], top: int, findings: Findings | None = None) -> go.Figure | None:
    """Spatial autocorrelograms of the ``top`` units by gridness (None when gridness was not taken)."""
    units = top_units(ports, "gridness", top)
    if not units:
        return None
    figure = make_subplots(rows=1, cols=len(units),
                           subplot_titles=[_unit_title(p, u, "gridness", findings) for p, u in units],
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


def tuning_figure(ports: Sequence[PortCells], top: int, findings: Findings | None = None) -> go.Figure | None:
    """Polar head-direction tuning of the ``top`` units by vector length (north up, east to the right)."""
    units = top_units(ports, "direction", top)
    if not units:
        return None
    figure = make_subplots(rows=1, cols=len(units), specs=[[{"type": "polar"}] * len(units)],
                           subplot_titles=[_unit_title(p, u, "direction", findings) for p, u in units])
    for col, (port, unit) in enumerate(units, start=1):
        curve = port.tuning[unit]
        degrees = np.degrees(direction_centres(len(curve)))
        figure.add_trace(go.Scatterpolar(r=np.append(curve, curve[0]), theta=np.append(degrees, degrees[0]),
                                         mode="lines", fill="toself", showlegend=False), row=1, col=col)
    figure.update_polars(angularaxis=dict(rotation=90, direction="clockwise", tickvals=list(COMPASS.values()),
                                          ticktext=list(COMPASS)), radialaxis=dict(showticklabels=False))
    figure.update_annotations(font_size=10, yshift=20)
    figure.update_layout(title="Head-direction tuning of the top units (mean shifted activity per heading)",
                         height=PANEL_PX + 160)
    return figure


def analyse(recording: Recording, path: Path, keys: Sequence[str], maze: str | None, settings: Settings,
            controls: int, perturbations: bool = True) -> Findings:
    """The measures of ``keys`` over the episodes of ``maze``, against ``controls`` untrained brains, with the
    supervised ports matched to their teachers; with ``perturbations``, the trained brain's perturbations too."""
    connectome = recorded_connectome(recording)
    maze, episodes = episodes_in_maze(recording, maze)
    episodic = measure_memory(recording, episodes, settings.bin_size, settings.seed)
    brains = untrained_brains(connectome, range(max(controls, 1)))  # one at least: it names the supervised ports
    teachers = supervised_ports(brains[0])
    control, replayed = "no control (--controls 0)", None
    if controls:
        replayed = replay(recording, path, episodes, dict(brains[0].input_shapes))
        if replayed.episodes:
            episodes = replayed.episodes
            seeds = "seed 0" if controls == 1 else f"seeds 0 to {controls - 1}"
            control = (f"the {settings.percentile:g}th percentile of the units of {controls} untrained brains "
                       f"({seeds}) shown the same observations")
        else:
            control = "no control (no recorded episode could be replayed)"
    pooled = pool(recording, episodes)
    activity = {key: pooled_activity(recording, pooled, key) for key in keys}
    measured = [measure_units(key, activity[key], pooled, settings) for key in keys]
    trained = trained_for_perturbations(path, connectome, perturbations, controls, replayed)  # or why not
    perturbed: Perturbations | str = trained if isinstance(trained, str) else ""
    untrained = []  # per untrained brain: [(activity, measures)] per key
    if replayed is not None and replayed.episodes:
        extra = [] if isinstance(trained, str) else [trained[0]]  # the perturbations' trained brain, in the same replay
        read = list(dict.fromkeys([*keys, *(key for brain in extra for key in perturbation_keys(brain))]))
        runs = replayed_activity(recording, replayed, [*brains[:controls], *extra], read)
        for brain in runs[:controls]:
            shown = {key: shifted(brain[key]) for key in keys}
            untrained.append([(shown[key], measure_units(key, shown[key], pooled, settings)) for key in keys])
        if extra:
            perturbed = run_perturbations(recording, replayed, pooled.positions, [*extra, *brains[:controls]],
                                [runs[-1], *runs[:controls]], trained[1])
    compared = {port.key: Control(port, tuple(brain[index][1] for brain in untrained), settings.percentile)
                for index, port in enumerate(measured)} if untrained else {}
    rewards = pooled_rewards(recording, pooled)
    supervised = {key: supervision(key, *teachers[key], (activity[key], measured[index]),
                                   [brain[index] for brain in untrained], pooled, rewards)
                  for index, key in enumerate(keys) if key in teachers}
    return Findings(measured, pooled, connectome, settings.criterion(), compared, supervised, control,
                    replayed.summary() if replayed is not None else "", perturbed, episodic)


def cell_figures(path: Path, ports: Sequence[str], maze: str | None, settings: Settings, top: int,
                 controls: int = DEFAULT_CONTROLS, perturbations: bool = True) -> tuple[list[go.Figure], Findings]:
    """The page's figures and what they show; ``ports`` empty means the recorded default ports."""
    with open_recording(path) as recording:
        if ports:
            keys = resolve_ports(recording, recorded_connectome(recording), ports)
        else:
            keys = [key for key in DEFAULT_PORTS if key in recording.ports]
            if not keys:
                raise AnalysisError(f"{recording.path}: none of the default ports ({', '.join(DEFAULT_PORTS)}) is "
                                    f"recorded; choose some with --ports (recorded: {', '.join(recording.ports)})")
        findings = analyse(recording, path, keys, maze, settings, controls, perturbations)
        measured, pooled = findings.ports, findings.pooled
        figures = [checklist_figure(findings), summary_figure(measured, findings), supervised_figure(findings),
                   *perturbation_figures(findings.perturbations), episodic_figure(findings.episodic), rate_map_figure(measured, top, findings),
                   corridor_figure(recording, pooled, measured, top, settings.bin_size),
                   autocorrelogram_figure(measured, top, findings), tuning_figure(measured, top, findings)]
        return [figure for figure in figures if figure is not None], findings


def report(path: Path, out: Path, ports: Sequence[str], maze: str | None, settings: Settings, top: int,
           plotlyjs: str = "directory", controls: int = DEFAULT_CONTROLS, perturbations: bool = True) -> str:
    """Write the page; the message repeats the per-port findings and the perturbations for the terminal."""
    figures, findings = cell_figures(path, ports, maze, settings, top, controls, perturbations)
    write_html(figures, out, f"cells: {path.name}", plotlyjs)
    pooled = findings.pooled
    lines = [f"wrote {out}: maze {pooled.maze}, {len(pooled.episodes)} episodes, "
             f"{binned_steps(findings.ports, pooled)}", f"control: {findings.replay or findings.control}",
             f"found: a unit beats {findings.criterion} and {findings.control}:" if findings.controls else
             f"{findings.control}: units beating {findings.criterion} are no finding (units of untrained brains can "
             f"beat them too):"]
    for port in findings.ports:
        shares = " | ".join(f"{MEASURES[m]}: {_measure_text(findings, port, m)}" for m in MEASURES)
        lines.append(f"  {port.key} ({port.units} units): {_kind(findings, port)}; {shares}")
    lines += [f"  {match_text(match)}" for match in findings.supervised.values()]
    lines.append(f"episodic memory: {memory_row(findings.episodic)}")
    lines += [f"{item}: {text}" for item, _, text in checklist_rows(findings) if item in CHECKLIST_ITEMS]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m analysis.cells", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, metavar="RUN_DIR_or_H5",
                        help="a run directory or a recording .h5 file; or the output directory of python -m "
                             "brain.pretrain_paths (its grid units against the untrained region's)")
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
    parser.add_argument("--top", type=number(int, 1), default=6,
                        help="units shown per measure; per network for a pre-training output (default 6)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the shuffles (default 0)")
    parser.add_argument("--controls", type=number(int, 0), default=DEFAULT_CONTROLS, metavar="K",
                        help="untrained brains of the recorded connectome (seeds 0 .. K-1) shown the recorded "
                             "episodes again, the control a unit must beat to count as found (default "
                             f"{DEFAULT_CONTROLS}; 0: none, and the page says that nothing is a finding)")
    parser.add_argument("--no-perturbations", dest="perturbations", action="store_false",
                        help="leave out the perturbations of the trained brain (pattern completion in CA3, path "
                             "integration in the dark), which run it and the untrained brains again: about half the "
                             "page's time")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = args.out or default_page(args.path, "cells.html")
    if is_pretraining(args.path):
        given = [f"--{name.replace('_', '-')}" for name in gridcells.RECORDING_FLAGS
                 if getattr(args, name) != parser.get_default(name)]
        return run_command(lambda: gridcells.report(args.path, out, args.top, args.plotlyjs, given), out, args.png)
    settings = Settings(args.bin_size, args.smoothing, args.shuffles, args.percentile, args.seed, args.threshold)
    return run_command(lambda: report(args.path, out, args.ports, args.maze, settings, args.top, args.plotlyjs,
                                      args.controls, args.perturbations), out, args.png)


if __name__ == "__main__":
    sys.exit(main())
