"""A top-down map of a maze with the agent, the food and its trajectory, drawn with numpy.

Used by ``MazeEnv.render()`` (beside the first-person view) and by ``tasks.play``. North is up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from tasks.geometry import MATERIALS, Box, Maze

BACKGROUND = (215, 225, 240)  # pale version of the blue floor
PLAIN_WALL = (70, 70, 70)  # black walls drawn grey so they stand out from the agent
FOOD = (16, 221, 35)
HIDDEN_FOOD = (160, 230, 170)
AGENT = (230, 40, 40)
PATH = (240, 140, 20)


def _material_colour(material: str) -> tuple[int, int, int]:
    rgb = MATERIALS.get(material, {}).get("rgb", (0, 0, 0))
    colour = tuple(int(round(255 * c)) for c in rgb)
    if colour == (255, 255, 255):  # GreenWall/RedWall: a white tint over a coloured texture
        colour = (0, 200, 0) if "Green" in material else (220, 0, 0)
    return PLAIN_WALL if colour == (0, 0, 0) else colour


def _inside(px: np.ndarray, pz: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Mask of the points inside a convex counter-clockwise polygon."""
    mask = np.ones(px.shape, dtype=bool)
    for i in range(len(footprint)):
        (x0, z0), (x1, z1) = footprint[i], footprint[(i + 1) % len(footprint)]
        mask &= (x1 - x0) * (pz - z0) - (z1 - z0) * (px - x0) >= 0.0
    return mask


def beside(view: np.ndarray, top: np.ndarray) -> np.ndarray:
    """The first-person ``view`` (uint8 [3, S, S]) scaled to the height of the map ``top`` ([H, W, 3]), left of it."""
    view = view.transpose(1, 2, 0)
    rows = (np.arange(top.shape[0]) * view.shape[0]) // top.shape[0]
    gap = np.full((top.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([view[rows][:, rows], gap, top], axis=1)


class TopDownMap:
    """Static background of one maze at ``pixels_per_metre``; ``draw`` adds the moving parts."""

    def __init__(self, maze: Maze, height_px: int = 252, margin: float = 1.0):
        pts = np.concatenate([b.footprint for b in maze.boxes])
        self.x0, self.z0 = pts.min(axis=0) - margin
        x1, z1 = pts.max(axis=0) + margin
        self.scale = height_px / (z1 - self.z0)  # pixels per metre
        self.height = height_px
        self.width = max(int(math.ceil((x1 - self.x0) * self.scale)), 1)
        self.background = self._raster(maze.boxes)

    def _pixel_grid(self) -> tuple[np.ndarray, np.ndarray]:
        cols = (np.arange(self.width) + 0.5) / self.scale + self.x0
        rows = self.z0 + (self.height - np.arange(self.height) - 0.5) / self.scale
        return np.meshgrid(cols, rows)

    def _raster(self, boxes: Sequence[Box]) -> np.ndarray:
        image = np.empty((self.height, self.width, 3), dtype=np.uint8)
        image[:] = BACKGROUND
        px, pz = self._pixel_grid()
        for box in boxes:
            image[_inside(px, pz, box.footprint)] = _material_colour(box.material)
        return image

    def to_pixel(self, x: float, z: float) -> tuple[float, float]:
        """(column, row) of the world point (x, z)."""
        return (x - self.x0) * self.scale, self.height - (z - self.z0) * self.scale

    def _disc(self, image: np.ndarray, x: float, z: float, radius_m: float, colour: tuple[int, int, int]) -> None:
        c, r = self.to_pixel(x, z)
        rad = max(radius_m * self.scale, 1.0)
        r0, r1 = max(int(r - rad), 0), min(int(r + rad) + 1, self.height)
        c0, c1 = max(int(c - rad), 0), min(int(c + rad) + 1, self.width)
        rr, cc = np.mgrid[r0:r1, c0:c1]
        image[r0:r1, c0:c1][(rr + 0.5 - r) ** 2 + (cc + 0.5 - c) ** 2 <= rad * rad] = colour

    def _line(self, image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int]) -> None:
        if len(points) < 2:
            return
        samples = []
        for a, b in zip(points[:-1], points[1:]):
            n = max(int(np.linalg.norm(b - a) * self.scale * 2), 1)
            samples.append(a + (b - a) * np.linspace(0.0, 1.0, n + 1)[:, None])
        pts = np.concatenate(samples)
        cols = ((pts[:, 0] - self.x0) * self.scale).astype(int)
        rows = (self.height - (pts[:, 1] - self.z0) * self.scale).astype(int)
        ok = (cols >= 0) & (cols < self.width) & (rows >= 0) & (rows < self.height)
        image[rows[ok], cols[ok]] = colour

    def draw(self, trajectory: Iterable[tuple[float, float]], heading: float,
             foods: Iterable[tuple[float, float, bool]] = (), agent_radius: float = 0.5,
             goals: Iterable[tuple[float, float, float]] = ()) -> np.ndarray:
        """The map with the foods ``(x, z, visible)``, hidden goal discs ``(x, z, radius)`` (the water maze's
        platform), the path and the agent (a disc of ``agent_radius`` m): uint8 [H, W, 3]."""
        image = self.background.copy()
        for x, z, visible in foods:
            c0, r1 = self.to_pixel(x - 0.5, z - 0.5)
            c1, r0 = self.to_pixel(x + 0.5, z + 0.5)
            image[max(int(r0), 0):int(r1) + 1, max(int(c0), 0):int(c1) + 1] = FOOD if visible else HIDDEN_FOOD
        for x, z, radius in goals:
            self._disc(image, x, z, radius, HIDDEN_FOOD)
        path = np.asarray(list(trajectory), dtype=np.float64).reshape(-1, 2)
        self._line(image, path, PATH)
        if len(path):
            x, z = path[-1]
            self._disc(image, x, z, agent_radius, AGENT)
            tip = 1.8 * agent_radius
            self._line(image, np.array([[x, z], [x + tip * math.sin(heading), z + tip * math.cos(heading)]]), (0, 0, 0))
        return image
