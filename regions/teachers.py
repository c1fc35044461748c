"""Teacher signals: place-cell and head-direction-cell ensembles computed from the true pose.

The simulator knows the agent's true pose ``(x, z, heading)``; these objects turn it into the
population activity that CA1 and the entorhinal cortex learn to predict (Banino et al. 2018).
The pose never reaches the policy: it only shapes the auxiliary losses. Conventions follow
``docs/interfaces.md``: metres, x east, z north, heading in radians with 0 = north and
+pi/2 = east.

Example:
    >>> import numpy as np
    >>> place = PlaceCells.for_maze(np.random.default_rng(0).uniform(-5, 5, (1000, 2)), n=64, sigma=1.0, seed=0)
    >>> hd = HeadDirectionCells(n=12, kappa=20.0)
    >>> poses = np.zeros((5, 2, 3), dtype=np.float32)         # [T, B, (x, z, heading)]
    >>> targets = teacher_targets(poses, np.zeros((5, 2)), place, hd)
    >>> {k: tuple(v.shape) for k, v in targets.items()}
    {'place_cells': (5, 2, 64), 'head_direction': (5, 2, 12), 'reward': (5, 2), 'mask': (5, 2)}
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor | Sequence


def as_poses(pose: ArrayLike) -> torch.Tensor:
    """Poses as a float32 tensor ``[..., 3]``, with a clear error for anything else."""
    tensor = torch.as_tensor(np.asarray(pose) if not isinstance(pose, torch.Tensor) else pose, dtype=torch.float32)
    if tensor.dim() == 0 or tensor.shape[-1] != 3:
        raise ValueError(f"pose must have shape [..., 3] holding (x, z, heading); got {tuple(tensor.shape)}")
    return tensor


class PlaceCells:
    """An ensemble of N place cells with Gaussian fields (the teacher of CA1 and entorhinal ``place``).

    The target for a position ``p`` is ``softmax_i(-|p - c_i|^2 / (2 sigma^2))``: a population
    code that sums to 1 and peaks at the cell whose centre is nearest, as in Banino et al. (2018).

    Args:
        centres: field centres ``[N, 2]`` as ``(x, z)`` metres.
        sigma: field width in metres (about 1 m; scale with the maze size).
    """

    def __init__(self, centres: ArrayLike, sigma: float = 1.0):
        self.centres = torch.as_tensor(np.asarray(centres, dtype=np.float32))
        if self.centres.dim() != 2 or self.centres.shape[1] != 2 or self.centres.shape[0] < 1:
            raise ValueError(f"PlaceCells: centres must have shape [N, 2] of (x, z) metres; "
                             f"got {tuple(self.centres.shape)}")
        if not sigma > 0:
            raise ValueError(f"PlaceCells: sigma (field width, metres) must be positive; got {sigma!r}")
        self.sigma = float(sigma)

    @classmethod
    def for_maze(cls, points: ArrayLike, n: int = 256, sigma: float = 1.0, seed: int = 0) -> PlaceCells:
        """Place ``n`` fields at distinct points drawn uniformly from a maze's free space.

        Args:
            points: candidate positions ``[M, 2]``, e.g. ``tasks.free_space_points(maze, 4096, seed)``.
            n: number of place cells (``M >= n``).
            sigma: field width in metres.
            seed: seed of the draw (the same seed gives the same map of the same maze).
        """
        points = np.asarray(points, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"PlaceCells.for_maze: points must have shape [M, 2]; got {points.shape}")
        if not 1 <= n <= len(points):
            raise ValueError(f"PlaceCells.for_maze: cannot choose n={n} distinct centres from {len(points)} points; "
                             f"ask tasks.free_space_points for at least {n} points")
        chosen = np.random.default_rng(seed).choice(len(points), size=n, replace=False)
        return cls(points[np.sort(chosen)], sigma)

    @property
    def n(self) -> int:
        """Number of place cells."""
        return int(self.centres.shape[0])

    def targets(self, pose: ArrayLike) -> torch.Tensor:
        """Ensemble activity ``[..., N]`` (sums to 1) for poses ``[..., 3]``."""
        position = as_poses(pose)[..., :2]
        squared = (position[..., None, :] - self.centres).square().sum(dim=-1)
        return torch.softmax(-squared / (2.0 * self.sigma**2), dim=-1)

    def __repr__(self) -> str:
        return f"PlaceCells(n={self.n}, sigma={self.sigma})"


class HeadDirectionCells:
    """An ensemble of head-direction cells with von Mises tuning (the teacher of entorhinal ``head_direction``).

    Preferred directions are evenly spaced, ``mu_i = 2 pi i / n`` (cell 0 prefers north); the
    target for a heading ``theta`` is ``softmax_i(kappa cos(theta - mu_i))``.

    Args:
        n: number of cells.
        kappa: concentration of the tuning (larger is sharper; 20 as in Banino et al. 2018).
    """

    def __init__(self, n: int = 12, kappa: float = 20.0):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"HeadDirectionCells: n must be a positive integer; got {n!r}")
        if not kappa >= 0:
            raise ValueError(f"HeadDirectionCells: kappa (concentration) must be >= 0; got {kappa!r}")
        self.kappa = float(kappa)
        self.preferred = torch.arange(n, dtype=torch.float32) * (2.0 * math.pi / n)

    @property
    def n(self) -> int:
        """Number of head-direction cells."""
        return int(self.preferred.shape[0])

    def targets(self, pose: ArrayLike) -> torch.Tensor:
        """Ensemble activity ``[..., n]`` (sums to 1) for poses ``[..., 3]`` (heading in radians)."""
        heading = as_poses(pose)[..., 2:3]
        return torch.softmax(self.kappa * torch.cos(heading - self.preferred), dim=-1)

    def __repr__(self) -> str:
        return f"HeadDirectionCells(n={self.n}, kappa={self.kappa})"


def teacher_targets(poses: ArrayLike, rewards: ArrayLike,
                    place: PlaceCells | Sequence[PlaceCells] | Sequence[Sequence[PlaceCells]],
                    head_direction: HeadDirectionCells, mask: ArrayLike | None = None) -> dict[str, torch.Tensor]:
    """The teacher signals of a rollout, keyed as in ``docs/interfaces.md`` section 2.

    Args:
        poses: true poses ``[T, B, 3]``.
        rewards: reward received after each step's action ``[T, B]``.
        place: the place-cell map of the maze, one map per time step, or one per time step and
            batch row (``[T][B]``: a rollout that crosses from one maze to another, or environments
            in different mazes; each maze has its own map).
        head_direction: the head-direction ensemble.
        mask: 1 for valid steps ``[T, B]``; all ones when omitted.

    Returns:
        ``place_cells`` [T, B, N], ``head_direction`` [T, B, M], ``reward`` [T, B], ``mask`` [T, B].
    """
    poses = as_poses(poses)
    if poses.dim() != 3:
        raise ValueError(f"teacher_targets: poses must be [T, B, 3]; got {tuple(poses.shape)}")
    steps = poses.shape[:2]
    rewards = torch.as_tensor(np.asarray(rewards, dtype=np.float32))
    if rewards.shape != steps:
        raise ValueError(f"teacher_targets: rewards must be [T, B] = {tuple(steps)}; got {tuple(rewards.shape)}")
    mask = torch.ones(steps) if mask is None else torch.as_tensor(np.asarray(mask, dtype=np.float32))
    if mask.shape != steps:
        raise ValueError(f"teacher_targets: mask must be [T, B] = {tuple(steps)}; got {tuple(mask.shape)}")
    place_cells = _place_targets(place, poses)
    return {
        "place_cells": place_cells,
        "head_direction": head_direction.targets(poses),
        "reward": rewards,
        "mask": mask,
    }


def _place_targets(place: PlaceCells | Sequence[PlaceCells] | Sequence[Sequence[PlaceCells]],
                   poses: torch.Tensor) -> torch.Tensor:
    """Place-cell targets ``[T, B, N]`` of ``poses [T, B, 3]``, each pose under its own map, one call per map."""
    if isinstance(place, PlaceCells):
        return place.targets(poses)
    steps, batch = poses.shape[:2]
    if len(place) != steps:
        raise ValueError(f"teacher_targets: got {len(place)} place-cell maps for {steps} time steps; "
                         f"pass one map, one per step, or one per step and batch row")
    grid = [[row] * batch if isinstance(row, PlaceCells) else list(row) for row in place]
    if any(len(row) != batch for row in grid):
        raise ValueError(f"teacher_targets: a step's place-cell maps do not match the batch of {batch}")
    maps = {id(cells): cells for row in grid for cells in row}
    if len(maps) == 1:
        return next(iter(maps.values())).targets(poses)
    owner = torch.tensor([[id(cells) for cells in row] for row in grid])
    targets = None
    for key, cells in maps.items():
        rows = owner == key
        part = cells.targets(poses[rows])
        if targets is None:
            targets = part.new_zeros(steps, batch, part.shape[-1])
        targets[rows] = part
    return targets
