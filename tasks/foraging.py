"""Rat-like random foraging in the open arena: smooth, seeded trajectories for path-integration training.

The motion model follows RatInABox (George et al. 2024, fitted to the rats of Sargolini et al. 2006) in
kind, at the step of the arena environment (0.2 s) rather than its 10 ms:

* **Speed** is the length of a 2-D Ornstein-Uhlenbeck velocity, so its distribution is Rayleigh
  with mean ``speed_mean`` (0.15 m/s: 3 cm per step; RatInABox's default is 0.08 m/s) and it
  changes smoothly, with coherence time ``speed_coherence`` (0.7 s, as RatInABox).
* **Turning**: the rotational velocity is an Ornstein-Uhlenbeck process with stationary standard
  deviation ``turn_std`` (90 deg/s) and coherence time ``turn_coherence`` (0.5 s; RatInABox has 120
  deg/s and 0.08 s at 10 ms steps, white noise at ours), so a turn persists over a few steps.
* **Walls**: within ``wall_distance`` (0.2 m) of the nearest wall and heading towards it, the agent
  turns away by a share ``1 - d / wall_distance`` of the angle that would make it run along the wall,
  and slows down to ``0.25 + 0.75 d / wall_distance`` of its speed (Sorscher et al.'s wall
  avoidance, made gradual). The heading changes by at most ``max_turn`` (45 deg) per step.
* A move never leaves the free square (the agent's centre stays ``margin`` inside the reach of its
  0.1 m circle): the last resort shortens it. The environment's walls therefore never stop the
  agent, and the odometry (the commanded turn and move) is the true self-motion.

Kinematics are the environment's: each step first turns the heading by ``turn_deg``, then moves
``move_m`` along the new heading. ``Trajectory.odometry`` is the continuous action of
``tasks.arena.ArenaEnv(kinematics="continuous")`` and the odometry it reports, so an environment
reset at ``poses[b, 0]`` replays trajectory ``b`` exactly.

Example:
    >>> trajectory = forage(steps=100, batch=4, seed=0)
    >>> trajectory.poses.shape, trajectory.odometry.shape
    ((4, 101, 3), (4, 100, 2))
    >>> bool(abs(trajectory.poses[..., :2]).max() <= 1.0)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from tasks.geometry import ARENA_SIZE
from tasks.physics import ARENA_COLLISION_RADIUS


@dataclass(frozen=True)
class ForagingParams:
    """The motion model's parameters (the module docstring says what each does and why its default).

    Attributes:
        dt: seconds per step (0.2: one arena step at the default 10 ticks of 0.02 s).
        speed_mean: mean speed, m/s (the speed is Rayleigh distributed).
        speed_coherence: coherence time of the velocity, s.
        turn_std: stationary standard deviation of the rotational velocity, deg/s.
        turn_coherence: coherence time of the rotational velocity, s.
        wall_distance: distance from the nearest wall at which avoidance starts, m.
        max_turn: largest heading change per step, degrees.
        size: the box's side, m (the arena's 2.2 m).
        agent_radius: the agent's collision radius, m (the arena's 0.1 m).
        margin: how far inside the agent's reach its centre stays, m.
    """

    dt: float = 0.2
    speed_mean: float = 0.15
    speed_coherence: float = 0.7
    turn_std: float = 90.0
    turn_coherence: float = 0.5
    wall_distance: float = 0.2
    max_turn: float = 45.0
    size: float = ARENA_SIZE
    agent_radius: float = ARENA_COLLISION_RADIUS
    margin: float = 1e-3

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf):
                raise ValueError(f"ForagingParams.{f.name} must be a positive number, got {value!r}")
        if self.max_turn > 180:
            raise ValueError(f"ForagingParams.max_turn must be at most 180 degrees, got {self.max_turn!r}")
        if self.half_width <= 0:
            raise ValueError(f"ForagingParams: a box of size {self.size} leaves no room for an agent of radius "
                             f"{self.agent_radius} with margin {self.margin}")

    @property
    def half_width(self) -> float:
        """Half the side of the square the agent's centre stays in, m."""
        return self.size / 2 - self.agent_radius - self.margin


@dataclass(frozen=True)
class Trajectory:
    """A batch of foraging trajectories.

    Attributes:
        poses: ``[B, T + 1, 3]`` (x, z, heading) after each step, ``poses[:, 0]`` the start; metres,
            x east, z north, heading in radians in (-pi, pi], 0 = north, +pi/2 = east (``docs/interfaces.md``).
        turn_deg: ``[B, T]`` heading change of each step, degrees (positive = right, clockwise from above).
        move_m: ``[B, T]`` distance moved in each step, metres.
        dt: seconds per step.
    """

    poses: np.ndarray
    turn_deg: np.ndarray
    move_m: np.ndarray
    dt: float

    @property
    def odometry(self) -> np.ndarray:
        """``[B, T, 2]`` float32 (turn_deg, move_m): the arena's continuous actions and odometry."""
        return np.stack([self.turn_deg, self.move_m], axis=-1).astype(np.float32)

    @property
    def speed(self) -> np.ndarray:
        """``[B, T]`` translational speed, m/s."""
        return self.move_m / self.dt

    @property
    def angular_velocity(self) -> np.ndarray:
        """``[B, T]`` rotational velocity, rad/s (positive = clockwise from above)."""
        return np.radians(self.turn_deg) / self.dt


def wrap_angle(radians: np.ndarray) -> np.ndarray:
    """Angles wrapped to (-pi, pi]."""
    return np.pi - np.mod(np.pi - radians, 2 * np.pi)


#: Outward normals of the four walls as headings (N, E, S, W), and the axis and sign of each.
_WALL_HEADINGS = np.array([0.0, np.pi / 2, np.pi, -np.pi / 2])


def _ou_step(value: np.ndarray, decay: float, std: float, rng: np.random.Generator) -> np.ndarray:
    """One exact step of a stationary Ornstein-Uhlenbeck process with autocorrelation ``decay`` per step."""
    return decay * value + std * math.sqrt(1.0 - decay * decay) * rng.standard_normal(value.shape)


def _wall_avoidance(x: np.ndarray, z: np.ndarray, heading: np.ndarray, p: ForagingParams):
    """Turn (radians) away from the nearest wall and the speed factor, for agents heading towards it."""
    h = p.half_width
    distance = np.stack([h - z, h - x, h + z, h + x])  # to the N, E, S, W limits of the centre
    nearest = distance.argmin(axis=0)
    d = distance[nearest, np.arange(len(x))]
    towards = wrap_angle(heading - _WALL_HEADINGS[nearest])  # 0: straight at the wall
    closeness = np.clip(1.0 - d / p.wall_distance, 0.0, 1.0) * (np.abs(towards) < np.pi / 2)
    away = np.where(towards >= 0, 1.0, -1.0) * (np.pi / 2 - np.abs(towards))
    return closeness * away, 1.0 - 0.75 * closeness


def _longest_move(x: np.ndarray, z: np.ndarray, dx: np.ndarray, dz: np.ndarray, h: float) -> np.ndarray:
    """How far each agent can go along (dx, dz) before its centre leaves [-h, h]^2."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = np.where(dx > 0, (h - x) / dx, np.where(dx < 0, (-h - x) / dx, np.inf))
        tz = np.where(dz > 0, (h - z) / dz, np.where(dz < 0, (-h - z) / dz, np.inf))
    return np.maximum(np.minimum(tx, tz), 0.0)


def forage(steps: int, batch: int = 1, seed: int = 0, params: ForagingParams = ForagingParams(),
           start: np.ndarray | None = None) -> Trajectory:
    """``batch`` seeded foraging trajectories of ``steps`` steps in the arena.

    Args:
        steps: steps per trajectory (``T``).
        batch: trajectories (``B``), independent of each other.
        seed: the same seed gives the same trajectories.
        params: the motion model.
        start: ``[B, 3]`` start poses (x, z, heading); default uniform over the free square and headings.

    Returns:
        A :class:`Trajectory`.
    """
    for name, value in (("steps", steps), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"forage: {name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    p = params
    h = p.half_width
    if start is None:
        x, z = rng.uniform(-h, h, (2, batch))
        heading = rng.uniform(-np.pi, np.pi, batch)
    else:
        start = np.asarray(start, dtype=float)
        if start.shape != (batch, 3) or not np.isfinite(start).all():
            raise ValueError(f"forage: start must be [batch, 3] finite (x, z, heading), got shape {start.shape}")
        if np.abs(start[:, :2]).max() > h:
            raise ValueError(f"forage: start positions must lie in [-{h:.3f}, {h:.3f}] (the agent's free square)")
        x, z, heading = start[:, 0].copy(), start[:, 1].copy(), wrap_angle(start[:, 2])
    sigma = p.speed_mean / math.sqrt(math.pi / 2)  # Rayleigh scale: the std of each velocity component
    speed_decay = math.exp(-p.dt / p.speed_coherence)
    turn_decay = math.exp(-p.dt / p.turn_coherence)
    turn_std = math.radians(p.turn_std)
    max_turn = math.radians(p.max_turn)
    velocity = rng.standard_normal((2, batch)) * sigma
    omega = rng.standard_normal(batch) * turn_std

    poses = np.empty((batch, steps + 1, 3))
    turns = np.empty((batch, steps))
    moves = np.empty((batch, steps))
    poses[:, 0] = np.stack([x, z, heading], axis=-1)
    for t in range(steps):
        velocity = _ou_step(velocity, speed_decay, sigma, rng)
        omega = _ou_step(omega, turn_decay, turn_std, rng)
        wall_turn, slow = _wall_avoidance(x, z, heading, p)
        turn = np.clip(omega * p.dt + wall_turn, -max_turn, max_turn)
        heading = wrap_angle(heading + turn)
        dx, dz = np.sin(heading), np.cos(heading)
        move = np.minimum(np.hypot(*velocity) * p.dt * slow, _longest_move(x, z, dx, dz, h))
        x, z = np.clip(x + move * dx, -h, h), np.clip(z + move * dz, -h, h)
        turns[:, t], moves[:, t] = np.degrees(turn), move
        poses[:, t + 1] = np.stack([x, z, heading], axis=-1)
    return Trajectory(poses, turns, moves, p.dt)
