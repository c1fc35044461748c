"""Agent kinematics and collision: a circle sliding among convex wall footprints.

The 2017 agent is a Unity ``CharacterController`` (radius 0.5 m, skin 0.08 m) moved by an
instantaneous 2 m ``Move`` per forward action, with PhysX collide-and-slide against the wall
boxes. Seen from above every wall is a convex polygon, so the controller is a circle of radius
0.58 m and a move is a swept circle: it stops at the first contact and the rest of the
displacement is projected onto the wall (sliding along it, also along the 30 deg walls of the
Arrow maze). The sweep is continuous, so a 2 m move can never tunnel through a 1 m wall.

Heading is kept in integer degrees (multiples of 10 from the start) so that turning never
accumulates floating-point drift; ``direction`` returns exact unit vectors at multiples of 90.

Example:
    >>> from tasks.geometry import load_maze
    >>> c = Collider.from_maze(load_maze("onedim"))
    >>> c.move(0.0, 22.0, 0.0, 2.0)   # into the north wall at z = 23.5
    (0.0, 22.919999)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tasks.geometry import ARENA, Maze

AGENT_RADIUS = 0.5
SKIN_WIDTH = 0.08
COLLISION_RADIUS = AGENT_RADIUS + SKIN_WIDTH
MOVE_DISTANCE = 2.0  # metres per forward action (Startup.unity MovementSpeed)
TURN_DEGREES = 10  # degrees per turn action (Startup.unity RotationSpeed)
#: The open arena's agent is rat-sized: a 0.1 m circle, so that its centre covers a 2.0 m square of the
#: 2.2 m box (the 2017 controller's 0.58 m would leave 1.04 m).
ARENA_COLLISION_RADIUS = 0.1

_CONTACT_GAP = 1e-6  # metres kept between the circle and a wall after a hit, against round-off
_MAX_SLIDES = 4  # collide-and-slide iterations per move (two walls meeting at a corner need 2)
_TINY = 1e-12


def _unit_table() -> tuple[tuple[float, float], ...]:
    """(sin, cos) of every whole degree, rounded so multiples of 30 and 90 are exact."""
    out = []
    for deg in range(360):
        r = math.radians(deg)
        out.append((round(math.sin(r), 12) + 0.0, round(math.cos(r), 12) + 0.0))
    return tuple(out)


_UNIT = _unit_table()


def wrap_degrees(deg: int | float) -> int | float:
    """Wrap a heading in degrees (integer in the mazes, float in the arena) to (-180, 180]."""
    deg = deg % 360
    return deg - 360 if deg > 180 else deg


def direction(yaw_deg: int) -> tuple[float, float]:
    """Unit (dx, dz) of heading ``yaw_deg`` (0 = north/+z, 90 = east/+x, clockwise from above)."""
    return _UNIT[yaw_deg % 360]


def collision_radius(maze: str) -> float:
    """Radius of the agent's collision circle in maze ``maze``: 0.58 m in the 2017 mazes, 0.1 m in the arena."""
    return ARENA_COLLISION_RADIUS if maze == ARENA else COLLISION_RADIUS


def rect_distance(x: float, z: float, x0: float, x1: float, z0: float, z1: float) -> float:
    """Distance from (x, z) to the axis-aligned rectangle [x0, x1] x [z0, z1] (0 inside)."""
    dx = max(x0 - x, 0.0, x - x1)
    dz = max(z0 - z, 0.0, z - z1)
    return math.hypot(dx, dz)


class Collider:
    """Static walls of one maze, prepared for fast swept-circle queries.

    Each footprint becomes a list of edges ``(vx, vz, ux, uz, length, nx, nz)``: start vertex,
    unit direction, length and outward normal (footprints are counter-clockwise). A numpy
    bounding-box test picks the few walls near a move before the exact per-edge sweep.
    """

    def __init__(self, footprints: Sequence[np.ndarray], radius: float = COLLISION_RADIUS):
        if radius <= 0:
            raise ValueError(f"radius must be positive, got {radius}")
        self.radius = float(radius)
        self.footprints = [np.asarray(f, dtype=np.float64) for f in footprints]
        self._edges: list[list[tuple[float, ...]]] = [self._prepare(f) for f in self.footprints]
        if self.footprints:
            lo = np.array([f.min(axis=0) for f in self.footprints]) - self.radius
            hi = np.array([f.max(axis=0) for f in self.footprints]) + self.radius
        else:
            lo = hi = np.zeros((0, 2))
        self._lo, self._hi = lo, hi

    @classmethod
    def from_maze(cls, maze: Maze, radius: float | None = None) -> "Collider":
        """The walls of ``maze`` for an agent of ``radius`` (default: the maze's own, :func:`collision_radius`)."""
        return cls([b.footprint for b in maze.boxes], collision_radius(maze.name) if radius is None else radius)

    @staticmethod
    def _prepare(fp: np.ndarray) -> list[tuple[float, ...]]:
        if fp.ndim != 2 or fp.shape[1] != 2 or len(fp) < 3:
            raise ValueError(f"a footprint must be [n >= 3, 2] (x, z) corners, got shape {fp.shape}")
        area2 = float(np.sum(fp[:, 0] * np.roll(fp[:, 1], -1) - np.roll(fp[:, 0], -1) * fp[:, 1]))
        if area2 <= 0:
            raise ValueError("footprint corners must be counter-clockwise (x east, z north)")
        edges = []
        for i in range(len(fp)):
            vx, vz = float(fp[i, 0]), float(fp[i, 1])
            wx, wz = float(fp[(i + 1) % len(fp), 0]), float(fp[(i + 1) % len(fp), 1])
            length = math.hypot(wx - vx, wz - vz)
            ux, uz = (wx - vx) / length, (wz - vz) / length
            edges.append((vx, vz, ux, uz, length, uz, -ux))
        return edges

    # --- queries -----------------------------------------------------------------------
    def move(self, x: float, z: float, dx: float, dz: float) -> tuple[float, float]:
        """Collide-and-slide: where a circle at (x, z) ends after trying to move by (dx, dz)."""
        for _ in range(_MAX_SLIDES):
            length = math.hypot(dx, dz)
            if length < _TINY:
                break
            t, nx, nz = self.sweep(x, z, dx, dz)
            if t > 1.0:
                return x + dx, z + dz
            stop = max(t - _CONTACT_GAP / length, 0.0)
            x, z = x + dx * stop, z + dz * stop
            dx, dz = dx * (1.0 - stop), dz * (1.0 - stop)
            into = dx * nx + dz * nz
            if into < 0.0:  # remove the part of the motion that pushes into the wall
                dx, dz = dx - into * nx, dz - into * nz
        return x, z

    def sweep(self, x: float, z: float, dx: float, dz: float) -> tuple[float, float, float]:
        """First contact of the circle moving from (x, z) by t*(dx, dz), t in [0, 1].

        Returns ``(t, nx, nz)`` with the wall's outward normal at the contact, or ``t = inf``
        when the path is free. A circle already touching or slightly overlapping a wall (e.g.
        the 1-D start, 0.5 m from the south wall) gets ``t = 0`` if it moves further in.
        """
        r = self.radius
        lo_x, hi_x = min(x, x + dx), max(x, x + dx)
        lo_z, hi_z = min(z, z + dz), max(z, z + dz)
        near = np.flatnonzero(
            (self._lo[:, 0] <= hi_x) & (self._hi[:, 0] >= lo_x) & (self._lo[:, 1] <= hi_z) & (self._hi[:, 1] >= lo_z)
        )
        best_t, best_nx, best_nz = math.inf, 0.0, 0.0
        dd = dx * dx + dz * dz
        eps = 1e-9 * math.sqrt(dd)
        for i in near:
            for vx, vz, ux, uz, length, nx, nz in self._edges[i]:
                px, pz = x - vx, z - vz
                # The edge, pushed out by r along its normal.
                dn = dx * nx + dz * nz
                if dn < -eps:
                    s = px * nx + pz * nz
                    if s >= r:
                        t = (s - r) / -dn
                        u = (px + t * dx) * ux + (pz + t * dz) * uz
                    elif s >= 0.0:
                        t = 0.0
                        u = px * ux + pz * uz
                    else:
                        t = math.inf
                        u = -1.0
                    if 0.0 <= u <= length and t < best_t:
                        best_t, best_nx, best_nz = t, nx, nz
                # The corner at the edge's start vertex, a disc of radius r.
                b = px * dx + pz * dz
                if b >= -eps:
                    continue  # moving away from this corner
                c = px * px + pz * pz - r * r
                if c <= 0.0:
                    t = 0.0
                else:
                    disc = b * b - dd * c
                    if disc < 0.0:
                        continue
                    t = (-b - math.sqrt(disc)) / dd
                if t < best_t and t <= 1.0:
                    qx, qz = px + t * dx, pz + t * dz
                    q = math.hypot(qx, qz)
                    if q > _TINY:
                        best_t, best_nx, best_nz = t, qx / q, qz / q
        return best_t, best_nx, best_nz

    def clearance(self, points: np.ndarray, horizon: float = math.inf) -> np.ndarray:
        """Distance from each (x, z) point [N, 2] to the nearest footprint (0 inside one).

        Distances beyond ``horizon`` are reported as ``inf`` (only nearby walls are measured).
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        best = np.full(len(points), np.inf)
        for fp in self.footprints:
            lo, hi = fp.min(axis=0) - horizon, fp.max(axis=0) + horizon
            near = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
            if len(near):
                best[near] = np.minimum(best[near], _polygon_distance(points[near], fp))
        best[best > horizon] = np.inf
        return best


def _polygon_distance(points: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Distance from points [N, 2] to the convex CCW polygon ``fp`` (0 inside), vectorised."""
    v = fp
    w = np.roll(fp, -1, axis=0)
    e = w - v  # [E, 2]
    rel = points[:, None, :] - v[None, :, :]  # [N, E, 2]
    u = np.clip(np.einsum("nek,ek->ne", rel, e) / np.einsum("ek,ek->e", e, e), 0.0, 1.0)
    closest = v[None] + u[..., None] * e[None]
    d = np.linalg.norm(points[:, None, :] - closest, axis=-1).min(axis=1)
    cross = e[None, :, 0] * rel[..., 1] - e[None, :, 1] * rel[..., 0]  # > 0: left of edge = inside
    inside = np.all(cross >= 0.0, axis=1)
    return np.where(inside, 0.0, d)
