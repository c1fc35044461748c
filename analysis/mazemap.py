"""The maze an episode was played in: its top-down map for figures and the box its rate maps bin.

The map is the simulator's own (:class:`tasks.topdown.TopDownMap`, the one ``tasks.play`` shows),
embedded as a PNG layout image placed in metres, so trajectories drawn over it in ``(x, z)`` line up.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from typing import Any, Iterable

import numpy as np

from analysis.recordings import maze_of
from tasks.arena import ARENA_TASKS
from tasks.free_space import grid_spacing, reachable_grid
from tasks.geometry import load_maze
from tasks.png import write_png
from tasks.rules import task_spec
from tasks.topdown import TopDownMap

#: Pixels per map height; the image stays a few kilobytes.
MAP_HEIGHT_PX = 400


Extent = tuple[float, float, float, float]


def free_extent(maze: str, layout: str) -> Extent:
    """``(x_min, x_max, z_min, z_max)`` holding every position the agent's centre can reach.

    The reachable grid's outermost points are free and the next ones out are not, so the true
    boundary lies less than one grid step beyond them: the box reaches a full step out. (Half a step
    stopped at |x| = 0.40 m in the 1-D corridor, where the agent runs against the wall at 0.42 m.)
    """
    points, step = reachable_grid(maze, layout), grid_spacing(maze)
    (x_min, z_min), (x_max, z_max) = points.min(axis=0) - step, points.max(axis=0) + step
    return float(x_min), float(x_max), float(z_min), float(z_max)


def rate_map_extent(mazes: Iterable[tuple[str, str]], positions: np.ndarray) -> Extent:
    """The box rate maps bin: the free space of every ``(maze, layout)``, grown to take every finite position.

    The maze fixes the bins (maps of different runs line up); growing the box to the recorded
    positions makes sure that no sample is left out where the grid found no free point: the 1-D
    tasks start the agent at z = 0, 0.5 m from the wall behind, inside its 0.08 m collision skin.
    """
    boxes = np.array([free_extent(maze, layout) for maze, layout in mazes])
    xz = np.asarray(positions, dtype=float)
    xz = xz[np.all(np.isfinite(xz), axis=1)]
    low = np.minimum(boxes[:, [0, 2]].min(axis=0), xz.min(axis=0, initial=np.inf))
    high = np.maximum(boxes[:, [1, 3]].max(axis=0), xz.max(axis=0, initial=-np.inf))
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def _data_uri(rgb: np.ndarray) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "map.png"
        write_png(path, np.ascontiguousarray(rgb))
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def map_image(task: str) -> dict[str, Any]:
    """The task's maze seen from above with its food at the start of a trial, north up, as a layout image.

    Returns the ``add_layout_image`` arguments that place it in metres (x east, z north).
    """
    maze, layout = maze_of(task)
    view = TopDownMap(load_maze(maze, layout), height_px=MAP_HEIGHT_PX)
    if task in ARENA_TASKS:  # the water maze's hidden platform, the open field's nothing
        platform = ARENA_TASKS[task].platform
        rgb = view.draw([], 0.0, goals=[platform] if platform else [])
    else:
        rgb = view.draw([], 0.0, [(food.x, food.z, food.visible) for food in task_spec(task).foods])
    width, height = view.width / view.scale, view.height / view.scale
    return dict(source=_data_uri(rgb), x=view.x0, y=view.z0 + height, sizex=width, sizey=height,
                xanchor="left", yanchor="top", sizing="stretch", layer="below")
