"""The water-maze probe trial's measures (Morris 1984): where a swim without the platform searched.

With the platform removed, an animal that remembers where it was searches there: it spends more
than a quarter of the trial in the platform's quadrant and crosses the platform's site more often
than the same-sized sites in the other quadrants. Both measures carry their control: the other
three quadrants, each the platform's quadrant turned by 90, 180 and 270 degrees about the arena's
centre, and their sites, the platform's disc turned alike. Quadrant ``k`` is the 90-degree sector
centred on site ``k``'s bearing from the centre (for the platform at (0.55, 0.55): the north-east
quarter between the axes).

* **Time share**: the share of the positions after each step (a step is a fixed time) in each
  quadrant; the start pose is left out, the agent did not choose it.
* **Crossings**: the steps that enter a site's disc, from outside it, at any point of the straight
  move (a long continuous move through a disc counts though neither end lies in it).

Example:
    >>> path = np.array([[0.0, 0.0], [0.5, 0.5], [0.6, 0.6], [-0.5, 0.5]])
    >>> result = measure(path, (0.55, 0.55, 0.15))
    >>> [round(share, 3) for share in result.shares], result.crossings
    ([0.667, 0.333, 0.0, 0.0], (1, 1, 0, 0))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Quadrants of the arena, and sites compared: the platform's first, then turned by 90, 180, 270 degrees.
QUADRANTS = 4


@dataclass(frozen=True)
class ProbeResult:
    """One probe trial: the time share of each quadrant and the crossings of each site, the platform's first."""

    shares: tuple[float, ...]
    crossings: tuple[int, ...]

    @property
    def target_share(self) -> float:
        return self.shares[0]


def sites(platform: tuple[float, float, float]) -> np.ndarray:
    """Centres ``[4, 2]`` of the platform's site and of its turns by 90, 180, 270 degrees about the centre."""
    x, z, _ = platform
    angles = np.arange(QUADRANTS) * math.pi / 2
    return np.stack([x * np.cos(angles) - z * np.sin(angles), x * np.sin(angles) + z * np.cos(angles)], axis=1)


def quadrants(points: np.ndarray, platform: tuple[float, float, float]) -> np.ndarray:
    """Index of the quadrant (0: the platform's) of each point ``[..., 2]``."""
    bearing = np.arctan2(points[..., 1], points[..., 0]) - math.atan2(platform[1], platform[0])
    return np.floor(np.mod(bearing + math.pi / 4, 2 * math.pi) / (math.pi / 2)).astype(int) % QUADRANTS


def entries(path: np.ndarray, centre: np.ndarray, radius: float) -> int:
    """Moves of ``path`` ``[T + 1, 2]`` that start outside the disc and touch it."""
    start, end = path[:-1], path[1:]
    move = end - start
    length2 = np.maximum((move ** 2).sum(axis=1), 1e-18)
    along = np.clip(((centre - start) * move).sum(axis=1) / length2, 0.0, 1.0)
    nearest = np.linalg.norm(start + along[:, None] * move - centre, axis=1)
    outside = np.linalg.norm(start - centre, axis=1) > radius
    return int((outside & (nearest <= radius)).sum())


def measure(path: np.ndarray, platform: tuple[float, float, float]) -> ProbeResult:
    """The probe measures of a swim ``path`` ``[T + 1, 2]`` (start, then the position after each step)."""
    path = np.asarray(path, dtype=float)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) < 2:
        raise ValueError(f"a probe path is [steps + 1, 2] positions with at least one step, got shape {path.shape}")
    counts = np.bincount(quadrants(path[1:], platform), minlength=QUADRANTS)
    return ProbeResult(tuple(float(c) for c in counts / counts.sum()),
                       tuple(entries(path, centre, platform[2]) for centre in sites(platform)))
