"""Where the agent centre can be: the reachable free space of a maze, and samples from it.

A point is free when the agent's collision circle (radius 0.58 m) fits there without touching
a wall; it is reachable when it connects to the start area through free points. Used for
place-cell centres (docs/interfaces.md) and for tests of the physics.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tasks.geometry import Maze, load_maze
from tasks.physics import COLLISION_RADIUS, Collider

GRID = 0.1  # metres between candidate points
# A point inside each maze's corridors from which the flood fill starts.
_INTERIOR = {"onedim": (0.0, 5.0), "onedim_colourless": (0.0, 5.0), "cross": (0.0, 12.5), "arrow": (-7.28, 8.14)}


def reachable_grid(name: str, layout: str | None = None) -> np.ndarray:
    """(x, z) centres [N, 2] of the GRID-spaced free points reachable from the maze's start area."""
    return _reachable_grid(load_maze(name, layout))


@lru_cache(maxsize=None)
def _reachable_grid(maze: Maze) -> np.ndarray:
    name = maze.name
    pts = np.concatenate([b.footprint for b in maze.boxes])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    xs = np.arange(lo[0] + GRID / 2, hi[0], GRID)
    zs = np.arange(lo[1] + GRID / 2, hi[1], GRID)
    gx, gz = np.meshgrid(xs, zs)  # [rows = z, cols = x]
    clearance = Collider.from_maze(maze).clearance(np.stack([gx.ravel(), gz.ravel()], axis=1), horizon=1.0)
    free = (clearance >= COLLISION_RADIUS).reshape(gx.shape)
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
    Arrow prefab with every corridor open) or a ``Maze`` with its layout. Points are distinct
    0.1 m grid points while ``n`` does not exceed their number.

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
