"""Where the agent centre can be: the reachable free space of a maze, and samples from it.

A point is free when the agent's collision circle (radius 0.58 m; 0.1 m in the open arena) fits
there without touching a wall; it is reachable when it connects to the start area through free
points. Used for place-cell centres (docs/interfaces.md) and for tests of the physics.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tasks.geometry import Maze, load_maze
from tasks.physics import Collider, collision_radius

GRID = 0.1  # metres between candidate points
#: A finer grid where the maze is small: the arena's 2 m of free space would hold only 400 points at 0.1 m,
#: fewer than the place cells of a path-integration run need as distinct, nearly continuous centres.
GRIDS = {"openfield": 0.02}
# A point inside each maze's corridors from which the flood fill starts.
_INTERIOR = {"onedim": (0.0, 5.0), "onedim_colourless": (0.0, 5.0), "cross": (0.0, 12.5), "arrow": (-7.28, 8.14),
             "openfield": (0.0, 0.0)}


def grid_spacing(maze: str) -> float:
    """Metres between the candidate points of ``maze``'s free space (``GRID``, finer in the arena)."""
    return GRIDS.get(maze, GRID)


def reachable_grid(name: str, layout: str | None = None) -> np.ndarray:
    """(x, z) centres [N, 2] of the free points reachable from the maze's start area, ``grid_spacing`` apart."""
    return _reachable_grid(load_maze(name, layout))


@lru_cache(maxsize=None)
def _reachable_grid(maze: Maze) -> np.ndarray:
    name = maze.name
    step = grid_spacing(name)
    pts = np.concatenate([b.footprint for b in maze.boxes])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    xs = np.arange(lo[0] + step / 2, hi[0], step)
    zs = np.arange(lo[1] + step / 2, hi[1], step)
    gx, gz = np.meshgrid(xs, zs)  # [rows = z, cols = x]
    clearance = Collider.from_maze(maze).clearance(np.stack([gx.ravel(), gz.ravel()], axis=1), horizon=1.0)
    free = (clearance >= collision_radius(name)).reshape(gx.shape)
    seed = np.unravel_index(np.argmin((gx - _INTERIOR[name][0]) ** 2 + (gz - _INTERIOR[name][1]) ** 2), gx.shape)
    if not free[seed]:
        raise RuntimeError(f"the start area of maze {name!r} is not free space; check geometry.json")
    reached = np.zeros_like(free)
    reached[seed] = True
    while True:  # flood fill by repeated 4-neighbour dilation
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= free
        if np.array_equal(grown, reached):
            break
        reached = grown
    out = np.stack([gx[reached], gz[reached]], axis=1)
    out.flags.writeable = False
    return out


def free_space_points(maze: str | Maze, n: int, seed: int) -> np.ndarray:
    """``n`` positions [n, 2] (x, z) the agent centre can occupy, drawn uniformly over the reachable space.

    ``maze`` is a maze name (``"onedim"``, ``"onedim_colourless"``, ``"cross"``, ``"arrow"``: the
    Arrow prefab with every corridor open; ``"openfield"``, the arena) or a ``Maze`` with its layout.
    Points are distinct grid points (0.1 m apart, 0.02 m in the arena) while ``n`` does not exceed
    their number.

    Example:
        >>> free_space_points("cross", 256, seed=0).shape
        (256, 2)
    """
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    grid = _reachable_grid(maze) if isinstance(maze, Maze) else reachable_grid(maze)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(grid), size=int(n), replace=int(n) > len(grid))
    return grid[idx].copy()
