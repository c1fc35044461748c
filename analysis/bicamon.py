"""BiCAMON-style view of one recorded episode: ``python -m analysis.bicamon RUN_DIR_or_H5 [--out bicamon.html]``.

The 2016-17 WBAI monitor drew brain regions as spheres at atlas coordinates and flashed the one a
running agent named (ARCHITECTURE.md section 8). This page keeps that look and replays graded
activity from the HDF5 recording, with a play button and a step slider:

* each region at its connectome ``position`` on a schematic brain outline (:mod:`analysis.anatomy`),
  in sagittal, horizontal and coronal views and in 3-D; marker area follows the region's
  recorded units (as BiCAMON's followed region volume);
* marker colour = the region's activity at the step: the mean absolute value over all units of
  its recorded output ports, scaled per region to [0, 1] between its minimum and maximum over
  the episode (regions differ in scale by orders of magnitude; per-region scaling shows when
  each is most and least active, not which is largest);
* connections as edges whose width and opacity follow their traffic: the mean absolute
  activity of the source port at the step over that port's maximum in the episode, times the
  edge's strength, ``sqrt(weight / largest weight)`` where the connectome gives ``weight:``
  and one half otherwise, in :data:`EDGE_LEVELS` steps (edges from ``env`` have no anatomical
  source and are left out);
  a recurrent connection of a region onto itself is a small loop beside it;
* lesions as the connectome states them: removed regions as grey crosses, silenced ones as
  grey rings, partly silenced ones active with the fraction in their label; removed
  connections (and those of removed regions) dotted grey, those of silenced regions dashed;
  regions that the run did not record (``--record-regions``) as light rings;
* beside them the agent's path on the simulator's top-down map with the position and heading
  at the step, the critic's value, the reward and the TD error over the episode, and a
  region-by-step heatmap of the same activity, each with a cursor at the step.

The recording holds no camera images, so no first-person view is shown. Long episodes are
subsampled to ``--max-frames`` animation frames (the heatmap and the curves keep every step).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.anatomy import Space, View, outline_2d, outline_3d, region_positions, space_of
from analysis.mazemap import map_image
from analysis.recordings import check_regions, open_recording, pick_episode, recorded_connectome
from analysis.report import add_output_arguments, default_page, equal_aspect, run_command, write_html
from brain.argtypes import name_list, number
from brain.connectome import Connectome
from brain.recording import Episode, Recording

COLOURSCALE = "Viridis"
EDGE_RGB = "40, 55, 90"
LESIONED, UNRECORDED = "rgb(140, 140, 140)", "rgb(200, 200, 200)"
#: Marker diameters in pixels, from the region with the fewest recorded units to the one with the most.
NODE_SIZE = (14.0, 30.0)
#: Edge widths in pixels at no traffic and at full traffic of the strongest edge.
EDGE_WIDTH = (0.5, 8.0)
#: Steps of width and opacity an active edge is drawn at (strength times traffic, rounded): a 2-D view draws its
#: active edges as this many traces whatever the connectome, one per step, each frame moving edges between them.
EDGE_LEVELS = 6
#: Strength of an edge without ``weight:``.
DEFAULT_STRENGTH = 0.5
#: Half the span of a brain view's axes, in the outline's radii.
VIEW_MARGIN = 1.08
#: Radius of a self-loop as a share of the outline's smallest radius, and its points (the first repeated last).
LOOP_RADIUS, LOOP_POINTS = 0.04, 13
WIDTH, HEIGHT = 1400, 1300
#: Page margins in pixels (left, right, top, bottom): the title and legend above, the controls below.
MARGIN = (80, 80, 130, 110)
#: The critic's curves keep their colours whatever else the connectome draws (plotly would assign them by order).
BEHAVIOUR_COLOURS = {"value": "rgb(31, 119, 180)", "reward": "rgb(44, 160, 44)", "TD error": "rgb(214, 39, 40)"}
#: Milliseconds per animation frame when playing.
FRAME_MS = 80
#: Region labels: font size, pixels per character and per line at that size, and where a label may sit
#: around its marker, in the order tried.
LABEL_FONT, CHAR_PX, LINE_PX = 11, 7.0, 14.0
LABEL_PLACES = ("top center", "bottom center", "middle right", "middle left", "top right", "top left",
                "bottom right", "bottom left")
STATIC_STYLE = {"removed": ("x", LESIONED), "silenced": ("circle-open", LESIONED),
                "unrecorded": ("circle-open", UNRECORDED)}


@dataclass(frozen=True)
class Node:
    """A region as drawn: ``status`` is active, partial, silenced, removed or unrecorded."""

    name: str
    label: str  # the short label drawn (the connectome's ``label``, else the name), lesion noted
    position: np.ndarray
    status: str
    units: int
    activity: np.ndarray | None  # [T] in [0, 1], None without recorded activity


@dataclass(frozen=True)
class Edge:
    """A connection as drawn: ``style`` is active, removed, silent or unrecorded."""

    source: str
    target: str
    label: str
    style: str
    strength: float
    traffic: np.ndarray | None  # [T] in [0, 1] for active edges


def scaled(values: np.ndarray) -> np.ndarray:
    """``values`` mapped to [0, 1] between their minimum and maximum (zeros when constant)."""
    span = float(np.ptp(values)) if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def magnitude(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Mean absolute activity per step over the units of ``arrays`` (each ``[T, units]``)."""
    return np.abs(np.concatenate([np.asarray(a, dtype=float) for a in arrays], axis=1)).mean(axis=1)


def _status(name: str, connectome: Connectome, recorded: dict[str, list[str]]) -> str:
    lesion = connectome.lesions.get(name)
    if lesion == "remove":
        return "removed"
    if name not in recorded:
        return "unrecorded"
    return "silenced" if lesion == "silence" else ("partial" if isinstance(lesion, float) else "active")


def _label(name: str, status: str, lesion: str | float | None) -> str:
    """``name`` with the lesion or recording status that changes how the region is drawn."""
    if status == "active":
        return name
    if status == "partial":
        return f"{name} ({lesion:.0%} silenced)"
    return f"{name} ({status.replace('unrecorded', 'not recorded')})"


def _hover(node: Node) -> str:
    return node.label if node.label.startswith(node.name) else f"{node.label}: {node.name}"


def build_nodes(recording: Recording, episode: Episode, connectome: Connectome,
                names: Sequence[str]) -> tuple[list[Node], list[str]]:
    """The drawn regions and the names placed on a ring for want of a ``position``."""
    positions, unplaced = region_positions(connectome, list(names))
    recorded, widths = recording.regions, dict(recording.spec.ports)
    nodes = []
    for name, position in zip(names, positions):
        status = _status(name, connectome, recorded)
        ports = recorded.get(name, [])
        activity = scaled(magnitude(list(episode.region(name).values()))) if status in ("active", "partial") \
            else None
        short = connectome.regions[name].label or name
        nodes.append(Node(name, _label(short, status, connectome.lesions.get(name)), position, status,
                          sum(widths[f"{name}.{p}"] for p in ports), activity))
    return nodes, unplaced


def build_edges(recording: Recording, episode: Episode, connectome: Connectome, nodes: Sequence[Node]) -> list[Edge]:
    """The connections between drawn regions, with their strength and, when active, their traffic."""
    status = {node.name: node.status for node in nodes}
    weights = [c.weight for c in connectome.connections if c.weight is not None]
    largest = max(weights, default=1.0) or 1.0
    edges = []
    for conn in connectome.connections:
        source, target = conn.source.region, conn.target.region
        if source not in status or target not in status:
            continue
        if connectome.edge_lesion(conn) == "remove" or "removed" in (status[source], status[target]):
            style = "removed"
        elif status[source] == "silenced":
            style = "silent"
        else:
            style = "active" if str(conn.source) in recording.ports else "unrecorded"
        traffic = None
        if style == "active":
            level = magnitude([episode.activity(source, conn.source.port)])
            traffic = level / level.max() if level.max() > 0 else np.zeros_like(level)
        strength = DEFAULT_STRENGTH if conn.weight is None else float(np.sqrt(max(conn.weight, 0.0) / largest))
        label = f"{conn}" + "".join(f", {key} {value}" for key, value in (("weight", conn.weight),
                                                                          ("delay", conn.delay)) if value)
        edges.append(Edge(source, target, label, style, strength, traffic))
    return edges


def frame_steps(length: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` steps spread evenly over an episode, first and last included."""
    return np.unique(np.round(np.linspace(0, length - 1, min(length, max_frames))).astype(int))


def edge_level(traffic: float, strength: float) -> int:
    """The step of :data:`EDGE_LEVELS` an active edge is drawn at: its ``strength`` times its ``traffic``, rounded."""
    return int(round(strength * traffic * (EDGE_LEVELS - 1)))


def _level_style(level: int) -> dict[str, Any]:
    """Width and opacity of the active edges at ``level``: thin and faint at 0, wide and opaque at the top."""
    share = level / (EDGE_LEVELS - 1)
    return {"line": {"width": round(EDGE_WIDTH[0] + (EDGE_WIDTH[1] - EDGE_WIDTH[0]) * share, 1),
                     "color": f"rgb({EDGE_RGB})"}, "opacity": round(0.25 + 0.75 * share, 2)}


def _static_line(style: str) -> dict[str, Any]:
    return {"removed": {"width": 1.5, "color": LESIONED, "dash": "dot"},
            "silent": {"width": 1.5, "color": LESIONED, "dash": "dash"},
            "unrecorded": {"width": 1.5, "color": UNRECORDED}}[style]


def _decimals(space: Space) -> int:
    """Decimals that keep edge coordinates to about a thousandth of the brain's size (whole um in CCFv3)."""
    return max(0, 3 - int(np.floor(np.log10(max(float(space.radii.max()), 1e-6)))))


def _joined(paths: Sequence[list[list[float]]], labels: Sequence[str] | None = None) -> dict[str, list]:
    """Several polylines (each a list of coordinate lists, one per axis) as one line trace's arrays, gaps between.

    With ``labels``, every point of a polyline hovers with its label.
    """
    axes = len(paths[0]) if paths else 2
    joined: dict[str, list] = {key: [] for key in "xyz"[:axes]}
    text: list[str] = []
    for index, path in enumerate(paths):
        for key, values in zip(joined, path):
            joined[key] += [*values, None]
        if labels is not None:
            text += [labels[index]] * (len(path[0]) + 1)
    return {**joined, "hovertext": text} if labels is not None else joined


class Animation:
    """Traces that change per frame: their index in the figure and what a frame sets on them."""

    def __init__(self) -> None:
        self.updates: list[tuple[int, str, Callable[[int], dict[str, Any]]]] = []

    def add(self, figure: go.Figure, trace: Any, row: int, col: int,
            update: Callable[[int], dict[str, Any]] | None = None) -> None:
        figure.add_trace(trace, row=row, col=col)
        if update is not None:
            self.updates.append((len(figure.data) - 1, trace.type, update))

    def frames(self, steps: np.ndarray) -> list[go.Frame]:
        """One frame per step; the step is shown by the slider (a layout change per frame would force a redraw)."""
        indices = [index for index, _, _ in self.updates]
        return [go.Frame(name=str(step), traces=indices,
                         data=[{"type": kind, **update(step)} for _, kind, update in self.updates])
                for step in steps]


def _loop(centre: np.ndarray, radius: float, axes: tuple[int, int]) -> np.ndarray:
    """A small circle touching ``centre`` in the plane of ``axes``: points ``[n, 3]``."""
    angle = np.linspace(0, 2 * np.pi, LOOP_POINTS)
    points = np.repeat(centre[None], len(angle), axis=0)
    points[:, axes[0]] += radius * (1 + np.cos(angle))
    points[:, axes[1]] += radius * np.sin(angle)
    return points


def _edge_points(edge: Edge, where: dict[str, np.ndarray], radius: float, axes: tuple[int, int]) -> np.ndarray:
    if edge.source == edge.target:
        return _loop(where[edge.source], radius, axes)
    return np.stack([where[edge.source], where[edge.target]])


def _boxes(centre: np.ndarray, radius: float, width: float) -> dict[str, np.ndarray]:
    """Screen boxes ``[x0, y0, x1, y1]`` (pixels, y down) of a label of ``width`` in each of :data:`LABEL_PLACES`."""
    x, y, r, d, h = centre[0], centre[1], radius, 0.7 * radius, LINE_PX
    return {"top center": np.array([x - width / 2, y - r - h, x + width / 2, y - r]),
            "bottom center": np.array([x - width / 2, y + r, x + width / 2, y + r + h]),
            "middle right": np.array([x + r, y - h / 2, x + r + width, y + h / 2]),
            "middle left": np.array([x - r - width, y - h / 2, x - r, y + h / 2]),
            "top right": np.array([x + d, y - d - h, x + d + width, y - d]),
            "top left": np.array([x - d - width, y - d - h, x - d, y - d]),
            "bottom right": np.array([x + d, y + d, x + d + width, y + d + h]),
            "bottom left": np.array([x - d - width, y + d, x - d, y + d + h])}


def _overlap(box: np.ndarray, others: np.ndarray) -> float:
    """Total area ``box`` shares with each of ``others`` ``[n, 4]``."""
    if not len(others):
        return 0.0
    width = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    height = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float((np.clip(width, 0, None) * np.clip(height, 0, None)).sum())


def marker_boxes(screen: np.ndarray, sizes: Sequence[float]) -> np.ndarray:
    """Boxes ``[n, 4]`` that labels must keep out of: the square inside each round marker's outline, and a little."""
    half = 0.4 * np.asarray(sizes, dtype=float)
    return np.concatenate([screen - half[:, None], screen + half[:, None]], axis=1)


def label_places(screen: np.ndarray, labels: Sequence[str], sizes: Sequence[float],
                 rounds: int = 3) -> tuple[list[str], np.ndarray]:
    """Where each label sits around its marker so that labels and markers do not overlap, and the label boxes.

    ``screen`` are the markers' centres in pixels (y down), ``sizes`` their diameters. Greedy, the
    most crowded region first, each taking the first of :data:`LABEL_PLACES` that is free (the
    least overlapping when none is); then ``rounds`` passes in which each label moves if another
    place overlaps less.
    """
    markers = marker_boxes(screen, sizes)
    options = [_boxes(centre, size / 2 + 1, CHAR_PX * len(label)) for centre, label, size in zip(screen, labels, sizes)]
    distance = np.linalg.norm(screen[:, None] - screen[None], axis=-1) + np.eye(len(screen)) * 1e9
    order = np.argsort(distance.min(axis=1), kind="stable")
    places, boxes = [""] * len(labels), np.full((len(labels), 4), np.nan)
    for _ in range(1 + rounds):
        for index in order:
            placed = ~np.isnan(boxes[:, 0])
            placed[index] = False
            others = np.vstack([np.delete(markers, index, axis=0), boxes[placed]])
            place = min(LABEL_PLACES, key=lambda name: (_overlap(options[index][name], others),
                                                        LABEL_PLACES.index(name)))
            places[index], boxes[index] = place, options[index][place]
    return places, boxes


def _screen(points: np.ndarray, view: View, pixels_per_unit: float) -> np.ndarray:
    """``points`` ``[n, 2]`` of ``view`` in pixels, y down (a reversed axis runs the other way)."""
    x = points[:, 0] * (-1 if view.x_reversed else 1)
    y = points[:, 1] * (1 if view.y_reversed else -1)
    return np.stack([x, y], axis=1) * pixels_per_unit


def _view_scale(figure: go.Figure, row: int, col: int, space: Space, view: View) -> float:
    """Pixels per coordinate unit in a 2-D view: its axis ranges in its subplot, at equal aspect."""
    subplot = figure.get_subplot(row, col)
    width = (WIDTH - MARGIN[0] - MARGIN[1]) * (subplot.xaxis.domain[1] - subplot.xaxis.domain[0])
    height = (HEIGHT - MARGIN[2] - MARGIN[3]) * (subplot.yaxis.domain[1] - subplot.yaxis.domain[0])
    span = 2 * VIEW_MARGIN * space.radii
    return min(width / span[view.x], height / span[view.y])


def _draw_edges(figure: go.Figure, animation: Animation, row: int, col: int, edges: Sequence[Edge],
                points: Sequence[np.ndarray], axes: Sequence[int], three_d: bool, decimals: int) -> None:
    """The connections of one view (``points``: each edge's polyline in 3-D coordinates) as a few traces.

    Not a trace per edge: plotly re-reads every trace of the figure at every frame, so a view
    draws its lesioned or unrecorded edges as one trace per style, and its active edges as one
    trace per level of :data:`EDGE_LEVELS`, each frame moving the edges between those traces. As
    a level's trace changes its points per frame, the edges' names hover on markers at their
    middles. The 3-D view is still: its active edges are drawn at their mean traffic.
    """
    paths = []
    for polyline in points:
        rounded = polyline.round(decimals)
        paths.append([(rounded[:, axis] if decimals else rounded[:, axis].astype(int)).tolist() for axis in axes])

    def lines(chosen: Sequence[int], **style: Any) -> Any:
        kind = go.Scatter3d if three_d else go.Scatter
        return kind(**_joined([paths[i] for i in chosen], [edges[i].label for i in chosen]), mode="lines",
                    hoverinfo="text", showlegend=False, **style)

    for style in ("removed", "silent", "unrecorded"):
        chosen = [i for i, edge in enumerate(edges) if edge.style == style]
        if chosen:
            figure.add_trace(lines(chosen, line=_static_line(style)), row=row, col=col)
    active = [i for i, edge in enumerate(edges) if edge.traffic is not None]
    if not active:
        return
    if three_d:
        levels = {i: edge_level(float(edges[i].traffic.mean()), edges[i].strength) for i in active}
        for level in sorted(set(levels.values())):
            figure.add_trace(lines([i for i in active if levels[i] == level], **_level_style(level)), row=row, col=col)
        return

    def at_level(step: int, level: int) -> dict[str, list]:
        return _joined([paths[i] for i in active if edge_level(edges[i].traffic[step], edges[i].strength) == level])

    for level in range(EDGE_LEVELS):
        trace = go.Scatter(**at_level(0, level), mode="lines", hoverinfo="skip", showlegend=False,
                           **_level_style(level))
        animation.add(figure, trace, row, col, lambda step, level=level: at_level(step, level))
    middles = np.stack([points[i][len(points[i]) // 2] if edges[i].source == edges[i].target
                        else points[i].mean(axis=0) for i in active])  # a loop's far side
    figure.add_trace(go.Scatter(x=middles[:, axes[0]], y=middles[:, axes[1]], mode="markers", hoverinfo="text",
                                hovertext=[edges[i].label for i in active], showlegend=False,
                                marker=dict(size=10, color="rgba(0, 0, 0, 0)")), row=row, col=col)


def _draw_view(figure: go.Figure, animation: Animation, row: int, col: int, nodes: Sequence[Node],
               edges: Sequence[Edge], space: Space, view: View | None, order: tuple[int, int, int],
               first: bool) -> None:
    """Outline, edges and regions in one 2-D ``view``, animated, or in 3-D at the episode's mean when ``view`` is None.

    The 3-D view stays still while the episode plays: a WebGL scene redrawn per frame would slow
    playback about tenfold (it is there to turn the brain around).
    """
    three_d = view is None
    axes = order if three_d else (view.x, view.y)
    where = {node.name: node.position for node in nodes}
    radius = LOOP_RADIUS * float(space.radii.min())

    def trace(points: np.ndarray, **style: Any) -> Any:
        coords = {key: points[:, axis] for key, axis in zip("xyz", axes)}
        return go.Scatter3d(**coords, **style) if three_d else go.Scatter(**coords, **style)

    if three_d:
        x, y, z = (grid.astype(np.float32) for grid in outline_3d(space, order))  # single precision: half the bytes
        figure.add_trace(go.Surface(x=x, y=y, z=z, opacity=0.08, showscale=False, hoverinfo="skip",
                                    colorscale=[[0, "rgb(120,120,120)"], [1, "rgb(120,120,120)"]]), row=row, col=col)
    else:
        ox, oy = outline_2d(space, view)
        figure.add_trace(go.Scatter(x=ox, y=oy, mode="lines", fill="toself", fillcolor="rgba(200, 200, 200, 0.25)",
                                    line=dict(color="rgb(150, 150, 150)", width=1), hoverinfo="skip",
                                    showlegend=False), row=row, col=col)
    _draw_edges(figure, animation, row, col, edges, [_edge_points(edge, where, radius, axes[:2]) for edge in edges],
                axes, three_d, _decimals(space))
    units = np.array([node.units for node in nodes], dtype=float)
    sizes = np.interp(np.sqrt(units), [np.sqrt(units.min()), np.sqrt(units.max()) + 1e-9], NODE_SIZE)
    size_of = {node.name: size for node, size in zip(nodes, sizes)}
    if three_d:
        place_of = {}  # labels would cover one another from most angles: the 3-D view names regions on hover
    else:
        screen = _screen(np.stack([node.position[[view.x, view.y]] for node in nodes]), view,
                         _view_scale(figure, row, col, space, view))
        place_of = dict(zip(where, label_places(screen, [node.label for node in nodes], sizes)[0]))

    def text(group: Sequence[Node]) -> dict[str, Any]:
        hover = dict(hovertext=[_hover(n) for n in group], hoverinfo="text")
        if three_d:
            return dict(mode="markers", **hover)
        return dict(mode="markers+text", text=[n.label for n in group], textposition=[place_of[n.name] for n in group],
                    textfont=dict(size=LABEL_FONT), **hover)

    live = [node for node in nodes if node.activity is not None]

    def activity(step: int | None) -> list[float]:
        return [round(float(n.activity.mean() if step is None else n.activity[step]), 3) for n in live]

    if live:
        marker = dict(size=[size_of[n.name] for n in live], color=activity(None if three_d else 0),
                      coloraxis="coloraxis", line=dict(width=1, color="rgb(60, 60, 60)"), opacity=1.0)
        regions = trace(np.stack([n.position for n in live]), marker=marker, name="regions",
                        showlegend=False, **text(live))
        animation.add(figure, regions, row, col,
                      None if three_d else lambda step: {"marker": {"color": activity(step)}})
    for status, (symbol, colour) in STATIC_STYLE.items():
        group = [node for node in nodes if node.status == status]
        if group:
            marker = dict(size=[size_of[n.name] for n in group], symbol=symbol, color=colour, line=dict(width=3,
                          color=colour))
            figure.add_trace(trace(np.stack([n.position for n in group]), marker=marker,
                                   name=status.replace("unrecorded", "not recorded"), legendgroup=status,
                                   showlegend=first, **text(group)), row=row, col=col)


def _draw_maze(figure: go.Figure, animation: Animation, episode: Episode, steps: np.ndarray, row: int,
               col: int) -> None:
    """The top-down map, the whole path, the path so far and the agent at the step."""
    pose = np.asarray(episode.pose, dtype=float)
    image = map_image(episode.task)
    figure.add_layout_image(image, row=row, col=col)
    figure.update_xaxes(range=[image["x"], image["x"] + image["sizex"]], title_text="x (m)", showgrid=False,
                        row=row, col=col)
    figure.update_yaxes(range=[image["y"] - image["sizey"], image["y"]], title_text="z (m)", showgrid=False,
                        row=row, col=col)
    equal_aspect(figure, row, col)
    figure.add_trace(go.Scatter(x=pose[:, 0], y=pose[:, 1], mode="lines", name="path",
                                line=dict(color="rgba(240, 140, 20, 0.35)", width=2), hoverinfo="skip"),
                     row=row, col=col)

    def so_far(step: int) -> dict[str, Any]:
        shown = steps[steps <= step]
        return {"x": pose[shown, 0].round(2).tolist(), "y": pose[shown, 1].round(2).tolist()}  # cm: the page's size

    def agent(step: int) -> dict[str, Any]:
        return {"x": [float(pose[step, 0])], "y": [float(pose[step, 1])],
                "marker": {"angle": [round(float(np.degrees(pose[step, 2])), 1)]}}

    animation.add(figure, go.Scatter(mode="lines", name="path so far", line=dict(color="rgb(240, 140, 20)", width=3),
                                     hoverinfo="skip", **so_far(int(steps[0]))), row, col, so_far)
    first = agent(int(steps[0]))
    animation.add(figure, go.Scatter(x=first["x"], y=first["y"], mode="markers", name="agent (heading)",
                                     marker=dict(symbol="arrow", size=18, color="rgb(230, 40, 40)",
                                                 angle=first["marker"]["angle"],
                                                 line=dict(width=1, color="black"))), row, col, agent)


def _cursor(figure: go.Figure, animation: Animation, low: float, high: float, start: int, row: int, col: int) -> None:
    def at(step: int) -> dict[str, Any]:
        return {"x": [step + 1, step + 1]}

    animation.add(figure, go.Scatter(y=[low, high], mode="lines", line=dict(color="red", width=2), showlegend=False,
                                     hoverinfo="skip", **at(start)), row, col, at)


def _draw_behaviour(figure: go.Figure, animation: Animation, episode: Episode, recording: Recording, start: int,
                    row: int, col: int) -> None:
    """Value, reward and TD error over the episode, cursor at the step."""
    series = {"value": episode.value, "reward": episode.reward}
    if recording.spec.td_error_port is not None:
        series["TD error"] = episode.td_error
    steps = np.arange(1, episode.length + 1)
    for name, values in series.items():
        figure.add_trace(go.Scatter(x=steps, y=np.asarray(values, dtype=float), mode="lines", name=name,
                                    line=dict(color=BEHAVIOUR_COLOURS[name])), row=row, col=col)
    stacked = np.concatenate([np.asarray(v, dtype=float) for v in series.values()])
    _cursor(figure, animation, float(stacked.min()), float(stacked.max()), start, row, col)


def _draw_heatmap(figure: go.Figure, animation: Animation, nodes: Sequence[Node], length: int, start: int,
                  row: int, col: int) -> None:
    live = [node for node in nodes if node.activity is not None]
    if not live:
        return
    names = [n.name for n in live]
    figure.add_trace(go.Heatmap(z=np.stack([n.activity for n in live]).astype(np.float32), x=np.arange(1, length + 1),
                                y=np.arange(len(live)), customdata=np.repeat(np.array(names)[:, None], length, axis=1),
                                coloraxis="coloraxis",
                                hovertemplate="%{customdata}, step %{x}: %{z:.3f}<extra></extra>"),
                     row=row, col=col)
    figure.update_yaxes(tickvals=list(range(len(live))), ticktext=names, range=[-0.5, len(live) - 0.5],
                        row=row, col=col)
    figure.update_xaxes(title_text="step", row=row, col=col)
    _cursor(figure, animation, -0.5, len(live) - 0.5, start, row, col)


def _controls(steps: np.ndarray, length: int) -> dict[str, Any]:
    """Play/pause buttons and a step slider driving the frames."""
    jump = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    play = {"fromcurrent": True, "frame": {"duration": FRAME_MS, "redraw": False}, "transition": {"duration": 0}}
    # The slider's knob jumps to each frame's step (plotly's default glides for 150 ms, longer than a frame).
    return {
        "updatemenus": [{"type": "buttons", "direction": "left", "x": 0.0, "y": -0.04, "xanchor": "left",
                         "yanchor": "top", "showactive": False,
                         "buttons": [{"label": "play", "method": "animate", "args": [None, play]},
                                     {"label": "pause", "method": "animate", "args": [[None], jump]}]}],
        "sliders": [{"x": 0.1, "len": 0.9, "y": -0.02, "yanchor": "top", "active": 0, "transition": {"duration": 0},
                     "currentvalue": {"prefix": "step ", "suffix": f" of {length}"},
                     "steps": [{"label": str(step + 1), "method": "animate", "args": [[str(step)], jump]}
                               for step in steps]}],
    }


def _view_axes(figure: go.Figure, row: int, col: int, space: Space, view: View) -> None:
    """A brain view's axes: the outline with a margin, anatomical directions (dorsal up), equal scales."""
    for update, axis, backwards, title in ((figure.update_xaxes, view.x, view.x_reversed, view.x_title),
                                           (figure.update_yaxes, view.y, view.y_reversed, view.y_title)):
        low = space.centre[axis] - VIEW_MARGIN * space.radii[axis]
        high = space.centre[axis] + VIEW_MARGIN * space.radii[axis]
        update(range=[high, low] if backwards else [low, high], title_text=title, showgrid=False, zeroline=False,
               row=row, col=col)
    equal_aspect(figure, row, col)


def _title(episode: Episode, connectome: Connectome) -> str:
    outcome = "success" if episode.success else "failure"
    return (f"{connectome.name}: episode {episode.episode} (worker {episode.worker}), task {episode.task}, "
            f"{episode.length} steps, {outcome}, return {episode.ret:+.2f}")


def bicamon_figure(recording: Recording, episode: Episode, regions: Sequence[str] = (),
                   max_frames: int = 200) -> go.Figure:
    """The animated BiCAMON-style figure of ``episode`` (module docstring), ``regions`` only if given."""
    connectome = recorded_connectome(recording)
    names = check_regions(connectome, regions)
    nodes, unplaced = build_nodes(recording, episode, connectome, names)
    edges = build_edges(recording, episode, connectome, nodes)
    space, order = space_of(connectome, np.stack([node.position for node in nodes]))
    steps = frame_steps(episode.length, max_frames)
    start = int(steps[0])
    titles = [view.name for view in space.views] + ["3-D, mean over the episode (names on hover)",
                                                    "path on the maze (north up)", "critic value, reward, TD error",
                                                    "activity by region"]
    figure = make_subplots(rows=3, cols=3, row_heights=[0.32, 0.38, 0.30], vertical_spacing=0.07,
                           horizontal_spacing=0.06, subplot_titles=titles,
                           specs=[[{}, {}, {}], [{"type": "scene"}, {}, {}], [{"colspan": 3}, None, None]])
    animation = Animation()
    for col, view in enumerate(space.views, start=1):
        _view_axes(figure, 1, col, space, view)
        _draw_view(figure, animation, 1, col, nodes, edges, space, view, order, first=col == 1)
    _draw_view(figure, animation, 2, 1, nodes, edges, space, None, order, first=False)
    _draw_maze(figure, animation, episode, steps, 2, 2)
    _draw_behaviour(figure, animation, episode, recording, start, 2, 3)
    _draw_heatmap(figure, animation, nodes, episode.length, start, 3, 1)
    title = _title(episode, connectome)
    if unplaced:
        title += f"<br><sup>no position in the connectome, placed on a ring: {', '.join(unplaced)}</sup>"
    figure.frames = animation.frames(steps)
    figure.update_xaxes(title_text="step", row=2, col=3)
    scene_axes = {name: dict(title=title_text) for name, title_text in zip(("xaxis", "yaxis", "zaxis"),
                                                                            space.axis_titles)}
    if space.dorsal_up_reversed:
        scene_axes["zaxis"]["autorange"] = "reversed"
    figure.update_scenes(aspectmode="data", **scene_axes)
    figure.update_layout(
        title={"text": title, "y": 0.985, "yanchor": "top"},
        width=WIDTH, height=HEIGHT, plot_bgcolor="white", margin=dict(zip("lrtb", MARGIN)),
        coloraxis=dict(colorscale=COLOURSCALE, cmin=0, cmax=1,
                       colorbar=dict(title="activity<br>(per region,<br>min to max)", len=0.3, y=0.15,
                                     ticklabelposition="outside bottom")),  # the top label clear of the title
        legend=dict(orientation="h", x=0.0, y=1.025, yanchor="bottom"), **_controls(steps, episode.length))
    return figure


def report(path: Path, out: Path, episode: int | None, regions: Sequence[str], max_frames: int,
           plotlyjs: str = "directory") -> str:
    """Write the page; the message says which episode it shows."""
    with open_recording(path) as recording:
        chosen = pick_episode(recording, episode)
        figure = bicamon_figure(recording, chosen, regions, max_frames)
        write_html([figure], out, f"BiCAMON view: {recording.path.name}", plotlyjs)
        frames = len(figure.frames)
        return (f"wrote {out}: episode {chosen.episode} of {recording.path} (task {chosen.task}, {chosen.length} "
                f"steps, {frames} frames)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.bicamon", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, metavar="RUN_DIR_or_H5", help="a run directory or a recording .h5 file")
    add_output_arguments(parser, "bicamon.html (bicamon-episode-N.html with --episode N)")
    parser.add_argument("--episode", type=int, default=None, metavar="N",
                        help="position in the recording's episode index, negative from the end (default: the last)")
    parser.add_argument("--regions", type=name_list, default=[], metavar="A,B",
                        help="comma-separated regions to draw (default: all)")
    parser.add_argument("--max-frames", type=number(int, 1), default=200,
                        help="animation frames at most; longer episodes are subsampled (default 200)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = "bicamon.html" if args.episode is None else f"bicamon-episode-{args.episode}.html"
    out = args.out or default_page(args.path, name)
    return run_command(lambda: report(args.path, out, args.episode, args.regions, args.max_frames, args.plotlyjs),
                       out, args.png)


if __name__ == "__main__":
    sys.exit(main())
