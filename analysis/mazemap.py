"""The maze an episode was played in: its top-down map for figures and its free-space extent for rate maps.

The map is the simulator's own (:class:`tasks.topdown.TopDownMap`, the one ``tasks.play`` shows),
embedded as a PNG layout image placed in metres, so trajectories drawn over it in ``(x, z)`` line up.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from typing import Any

import numpy as np

from analysis.recordings import maze_of
from tasks.free_space import GRID, reachable_grid
from tasks.geometry import load_maze
from tasks.png import write_png
from tasks.rules import task_spec
from tasks.topdown import TopDownMap

#: Pixels per map height; the image stays a few kilobytes.
MAP_HEIGHT_PX = 400


def free_extent(maze: str, layout: str) -> tuple[float, float, float, float]:
    """``(x_min, x_max, z_min, z_max)`` that the agent's centre can reach: rate maps bin this box."""
    points = reachable_grid(maze, layout)
    (x_min, z_min), (x_max, z_max) = points.min(axis=0) - GRID / 2, points.max(axis=0) + GRID / 2
    return float(x_min), float(x_max), float(z_min), float(z_max)


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
    rgb = view.draw([], 0.0, [(food.x, food.z, food.visible) for food in task_spec(task).foods])
    width, height = view.width / view.scale, view.height / view.scale
    return dict(source=_data_uri(rgb), x=view.x0, y=view.z0 + height, sizex=width, sizey=height,
                xanchor="left", yanchor="top", sizing="stretch", layer="below")
