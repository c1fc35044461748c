"""Where regions are drawn: the connectome's coordinate space, the three 2-D views and a brain outline.

A connectome names its space (``space: allen_ccf_v3_um``) and gives each region a ``position``
in it (ARCHITECTURE.md section 8). For the Allen Mouse Brain Common Coordinate Framework v3
the axes are known: AP (increasing posterior), DV (increasing ventral), LR (increasing to the
right), in micrometres, inside a 13200 x 8000 x 11400 um volume (the 25 um template is
528 x 320 x 456 voxels), so the views are the anatomical ones (sagittal, horizontal, coronal)
with anterior to the left and dorsal up. Each 2-D view draws the mouse brain's silhouette from
small outline coordinates shipped with the project (``analysis/data/allen_ccf_outline.json``, a
few dozen points per view; the file states how they were derived); the 3-D view, and any view the
file lacks, draw a schematic ellipsoid inscribed in the volume. Any other space is drawn with its
axes as given and an ellipsoid around the regions.

Regions without a ``position`` are spread on a ring inside the outline and named as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from brain.connectome import Connectome

#: Room left around the regions by the outline of a space that is not known here.
MARGIN = 0.3
#: Atlas-derived silhouettes per space and view (``{"space": ..., "views": {name: {"points": [[x, y], ...]}}}``).
OUTLINES = (Path(__file__).parent / "data" / "allen_ccf_outline.json",)


@dataclass(frozen=True)
class View:
    """A 2-D projection: the coordinates on each screen axis and whether the axis runs backwards."""

    name: str
    x: int
    y: int
    x_title: str
    y_title: str
    x_reversed: bool = False
    y_reversed: bool = False


@dataclass(frozen=True)
class Space:
    """A coordinate space: its views, the 3-D axis titles and the outline ellipsoid (centre, semi-axes)."""

    name: str
    views: tuple[View, View, View]
    axis_titles: tuple[str, str, str]
    centre: np.ndarray
    radii: np.ndarray
    dorsal_up_reversed: bool  # the third 3-D axis runs backwards so that dorsal is up


_AP, _DV, _LR = "anterior - AP (um) - posterior", "dorsal - DV (um) - ventral", "left - LR (um) - right"
ALLEN_CCF = Space(
    name="allen_ccf_v3_um",
    views=(View("sagittal", 0, 1, _AP, _DV, y_reversed=True), View("horizontal", 0, 2, _AP, _LR),
           View("coronal", 2, 1, _LR, _DV, y_reversed=True)),
    axis_titles=("AP (um)", "LR (um)", "DV (um)"),
    centre=np.array([6600.0, 4000.0, 5700.0]),
    radii=np.array([6300.0, 3400.0, 5000.0]),
    dorsal_up_reversed=True,
)
#: The order of a position's coordinates on the 3-D view's x, y, z axes (Allen: AP, LR, DV).
ALLEN_3D = (0, 2, 1)


def space_of(connectome: Connectome, positions: np.ndarray) -> tuple[Space, tuple[int, int, int]]:
    """The connectome's space and the coordinate order of its 3-D view.

    An unknown space gets views named after its axes and an outline around ``positions`` ``[R, 3]``.
    """
    if connectome.space == ALLEN_CCF.name:
        return ALLEN_CCF, ALLEN_3D
    low, high = positions.min(axis=0), positions.max(axis=0)
    span = np.maximum(high - low, 0.1 * (high - low).max() or 1.0)
    names = [f"axis {i + 1}" for i in range(3)]
    views = tuple(View(f"{names[a]} - {names[b]}", a, b, names[a], names[b]) for a, b in ((0, 1), (0, 2), (1, 2)))
    space = Space(connectome.space or "unnamed space", views, tuple(names), (low + high) / 2,
                  span * (0.5 + MARGIN), False)
    return space, (0, 1, 2)


def region_positions(connectome: Connectome, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Positions ``[R, 3]`` of ``names`` and the names that had none (placed on a ring).

    Without any position at all the ring lies in the Allen volume, so that the page still draws.
    """
    given = {name: connectome.regions[name].position for name in names if connectome.regions[name].position}
    missing = [name for name in names if name not in given]
    if given:
        known = np.array(list(given.values()), dtype=float)
        centre, radius = known.mean(axis=0), 0.5 * np.ptp(known, axis=0).max(initial=0.0) or 1.0
    else:
        centre, radius = ALLEN_CCF.centre, 0.5 * ALLEN_CCF.radii.min()
    angles = 2 * np.pi * np.arange(len(missing)) / max(len(missing), 1)
    ring = {name: centre + radius * np.array([np.cos(a), np.sin(a), 0.0]) for name, a in zip(missing, angles)}
    return np.array([given.get(name, ring.get(name)) for name in names], dtype=float).reshape(-1, 3), missing


@cache
def silhouettes() -> dict[tuple[str, str], np.ndarray]:
    """The shipped silhouettes as closed polygons ``[n, 2]`` keyed by (space, view name)."""
    found = {}
    for path in OUTLINES:
        data = json.loads(path.read_text())
        for view, outline in data["views"].items():
            points = np.asarray(outline["points"], dtype=float)
            found[data["space"], view] = np.vstack([points, points[:1]])
    return found


def outline_2d(space: Space, view: View, points: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """The brain's silhouette in ``view``: the shipped atlas outline, else the ellipsoid's cut through its centre."""
    polygon = silhouettes().get((space.name, view.name))
    if polygon is not None:
        return polygon[:, 0], polygon[:, 1]
    angle = np.linspace(0, 2 * np.pi, points)
    return (space.centre[view.x] + space.radii[view.x] * np.cos(angle),
            space.centre[view.y] + space.radii[view.y] * np.sin(angle))


def outline_3d(space: Space, order: tuple[int, int, int], points: int = 24) -> tuple[np.ndarray, ...]:
    """The outline ellipsoid as a surface grid ``(x, y, z)`` on the 3-D view's axes."""
    polar, azimuth = np.meshgrid(np.linspace(0, np.pi, points), np.linspace(0, 2 * np.pi, 2 * points))
    unit = (np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar))
    return tuple(space.centre[axis] + space.radii[axis] * unit[i] for i, axis in enumerate(order))
