"""Teacher signals: place-cell and head-direction-cell ensembles computed from the true pose.

The simulator knows the agent's true pose ``(x, z, heading)``; these objects turn it into the
population activity that CA1 and the entorhinal cortex learn to predict (Banino et al. 2018).
The pose never reaches the policy: it only shapes the auxiliary losses. Conventions follow
``docs/interfaces.md``: metres, x east, z north, heading in radians with 0 = north and
+pi/2 = east.

A region declares the teachers it learns from (:meth:`regions.base.Region.teachers`) with the
builders at the end of this module; each reads the ``info`` keys it names.

Example:
    >>> import numpy as np
    >>> from regions.base import TeacherInput
    >>> info = {"pose": np.zeros(3, np.float32), "maze": "onedim"}
    >>> steps = TeacherInput(infos=[[info, info]] * 5, rewards=np.zeros((5, 2), np.float32))  # T = 5, B = 2
    >>> tuple(place_cell_teacher(64).signal(steps).shape), tuple(head_direction_teacher(12).signal(steps).shape)
    ((5, 2, 64), (5, 2, 12))
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from regions.base import Teacher, TeacherInput

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
    With ``surround`` > 0 each field is centre-surround, a difference of Gaussians as in Sorscher et
    al. (2019, 2023): ``softmax(-d^2 / 2 sigma^2) - softmax(-d^2 / (2 surround sigma^2))``, shifted
    to a zero minimum and normalised to sum 1 (their code; ``surround`` = 2 there, the ratio of the
    surround's variance to the centre's). Centre-surround targets favour grid-like units.

    Args:
        centres: field centres ``[N, 2]`` as ``(x, z)`` metres.
        sigma: field width in metres (about 1 m; scale with the maze size).
        surround: ratio of the surround's variance to the centre's; 0 (default) for plain Gaussians.
    """

    def __init__(self, centres: ArrayLike, sigma: float = 1.0, surround: float = 0.0):
        self.centres = torch.as_tensor(np.asarray(centres, dtype=np.float32))
        if self.centres.dim() != 2 or self.centres.shape[1] != 2 or self.centres.shape[0] < 1:
            raise ValueError(f"PlaceCells: centres must have shape [N, 2] of (x, z) metres; "
                             f"got {tuple(self.centres.shape)}")
        if not sigma > 0:
            raise ValueError(f"PlaceCells: sigma (field width, metres) must be positive; got {sigma!r}")
        if not (surround == 0 or surround > 1) or not math.isfinite(surround):
            raise ValueError(f"PlaceCells: surround (the surround's variance over the centre's) must be 0 (none) or "
                             f"above 1; got {surround!r}")
        self.sigma = float(sigma)
        self.surround = float(surround)

    @classmethod
    def for_maze(cls, points: ArrayLike, n: int = 256, sigma: float = 1.0, seed: int = 0,
                 surround: float = 0.0) -> PlaceCells:
        """Place ``n`` fields at distinct points drawn uniformly from a maze's free space.

        Args:
            points: candidate positions ``[M, 2]``, e.g. ``tasks.free_space_points(maze, 4096, seed)``.
            n: number of place cells (``M >= n``).
            sigma: field width in metres.
            seed: seed of the draw (the same seed gives the same map of the same maze).
            surround: centre-surround fields (see the class), 0 for Gaussians.
        """
        points = np.asarray(points, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"PlaceCells.for_maze: points must have shape [M, 2]; got {points.shape}")
        if not 1 <= n <= len(points):
            raise ValueError(f"PlaceCells.for_maze: cannot choose n={n} distinct centres from {len(points)} points; "
                             f"ask tasks.free_space_points for at least {n} points")
        chosen = np.random.default_rng(seed).choice(len(points), size=n, replace=False)
        return cls(points[np.sort(chosen)], sigma, surround)

    @property
    def n(self) -> int:
        """Number of place cells."""
        return int(self.centres.shape[0])

    def targets(self, pose: ArrayLike) -> torch.Tensor:
        """Ensemble activity ``[..., N]`` (sums to 1) for poses ``[..., 3]``."""
        position = as_poses(pose)[..., :2]
        squared = (position[..., None, :] - self.centres).square().sum(dim=-1)
        centre = torch.softmax(-squared / (2.0 * self.sigma**2), dim=-1)
        if not self.surround:
            return centre
        fields = centre - torch.softmax(-squared / (2.0 * self.surround * self.sigma**2), dim=-1)
        fields = fields - fields.min(dim=-1, keepdim=True).values
        return fields / fields.sum(dim=-1, keepdim=True)

    def __repr__(self) -> str:
        surround = f", surround={self.surround}" if self.surround else ""
        return f"PlaceCells(n={self.n}, sigma={self.sigma}{surround})"


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

    def __call__(self, steps: TeacherInput) -> torch.Tensor:
        """As a teacher signal: the activity at each step's true heading, ``[T, B, n]``."""
        return self.targets(steps.stack("pose").astype(np.float32))

    def __repr__(self) -> str:
        return f"HeadDirectionCells(n={self.n}, kappa={self.kappa})"


class PlaceCellMaps:
    """One :class:`PlaceCells` map per maze (global remapping between environments), made on first visit
    from ``tasks.free_space_points``; as a teacher signal, the ensemble activity at each step's true position."""

    def __init__(self, n: int, sigma: float, seed: int = 0, surround: float = 0.0):
        self.n, self.sigma, self.seed, self.surround = n, sigma, seed, surround
        self.maps: dict[str, PlaceCells] = {}

    def for_maze(self, maze: str) -> PlaceCells:
        if maze not in self.maps:
            from tasks import free_space_points

            points = free_space_points(maze, max(4096, self.n), seed=self.seed)
            self.maps[maze] = PlaceCells.for_maze(points, n=self.n, sigma=self.sigma, seed=self.seed,
                                                  surround=self.surround)
        return self.maps[maze]

    def __call__(self, steps: TeacherInput) -> torch.Tensor:
        poses = torch.from_numpy(steps.stack("pose").astype(np.float32))  # [T, B, 3]
        mazes = steps.stack("maze")
        targets = torch.empty(*poses.shape[:2], self.n)
        for maze in np.unique(mazes):
            rows = torch.from_numpy(mazes == maze)
            targets[rows] = self.for_maze(str(maze)).targets(poses[rows])
        return targets


def place_cell_teacher(n: int, sigma: float = 1.0, seed: int = 0, weight: float = 0.1,
                       surround: float = 0.0, port: str | None = None) -> Teacher:
    """Place cells of the true position, ``n`` Gaussian fields of width ``sigma`` m per maze (Banino et al. 2018),
    fitted by output ``port``; centre-surround fields with ``surround`` > 0 (Sorscher et al. 2019; :class:`PlaceCells`)."""
    kind = f"centre-surround place fields (sigma {sigma} m, surround variance x{surround:g})" if surround else \
        f"place fields (sigma {sigma} m)"
    return Teacher(PlaceCellMaps(n, sigma, seed, surround), (n,), ("pose", "maze"), weight,
                   f"softmax over {n} {kind} of the true position, one map per maze", port)


def head_direction_teacher(n: int, kappa: float = 20.0, weight: float = 0.1, port: str | None = None) -> Teacher:
    """Head-direction cells of the true heading, ``n`` von Mises tunings of concentration ``kappa``, fitted by
    output ``port``."""
    return Teacher(HeadDirectionCells(n, kappa), (n,), ("pose",), weight,
                   f"softmax over {n} head-direction tunings (kappa {kappa}) of the true heading", port)


def rewards_received(steps: TeacherInput) -> torch.Tensor:
    """The reward received after each step's action, ``[T, B]``."""
    return torch.from_numpy(np.asarray(steps.rewards, dtype=np.float32))


def reward_teacher(weight: float = 0.1, port: str | None = None) -> Teacher:
    """The reward received after each step's action (the amygdala predicts it in output ``port``)."""
    return Teacher(rewards_received, (), (), weight, "the reward received after this step's action", port)


class CuedTarget:
    """One-hot of the target the trial's cue announced (``info["cued_target"]``), zeros in trials without a cue.

    Args:
        targets: the targets in read-out order, e.g. ``("red", "green", "blue")``.
    """

    def __init__(self, targets: Sequence[str]):
        self.targets = tuple(targets)

    def __call__(self, steps: TeacherInput) -> torch.Tensor:
        cued = steps.stack("cued_target")
        return torch.from_numpy(np.stack([cued == target for target in self.targets], axis=-1).astype(np.float32))


def cue_teacher(targets: Sequence[str], weight: float = 0.1, port: str | None = None) -> Teacher:
    """The target announced by the trial's cue (1-7, 1-8d), to be reported in output ``port`` at every step."""
    return Teacher(CuedTarget(targets), (len(targets),), ("cued_target",), weight,
                   f"one-hot over {', '.join(targets)} of the target the trial's cue announced (zero without a cue)",
                   port)
