"""The open arena as ``gymnasium`` environments: ``wba/OpenField-v0`` and ``wba/WaterMaze-v0``.

Arena
    A square box of 2.2 m between the walls (x, z in [-1.1, 1.1], centre at the origin; as Banino et
    al. 2018), built by ``tasks.geometry`` (maze ``"openfield"``): 0.5 m dark walls, one coloured cue
    card on each (white north, red east, blue south, yellow west; each of its own width and off-centre,
    so that no rotation or mirror of the box looks the same), distal landmarks beyond the walls (a
    tower to the north-east, a building to the west, a pyramid to the south, a mountain far north),
    the blue floor and a sky with the sun. The agent is rat-sized: a 0.1 m collision circle that slides
    along the walls as in the mazes (its centre covers x, z in [-1.0, 1.0]), its eye 0.3 m above the
    floor, 90 deg field of view, near clip plane 0.05 m.
Observation
    As in the mazes (``docs/interfaces.md`` section 1): ``rgb`` uint8 [3, S, S], ``depth`` float32
    [1, d, d] in metres (or ``depth_encoding="unity8"``), ``odometry`` float32 [2] = the commanded
    (turn_deg, move_m) of the step, reported even when a wall blocks the move; (0, 0) after reset.
Actions
    ``kinematics="discrete"`` (default): ``Discrete(3)``, 0 turn right ``turn_deg`` (15 deg), 1 turn
    left, 2 forward ``step_m`` (0.1 m); ``noop_action=True`` adds 3 = do nothing. The maze tasks' 2 m
    step is 10-20 times coarser than a grid period of tens of centimetres; these steps are not.
    ``kinematics="continuous"``: ``Box`` of (turn_deg, move_m) in [-180, 180] x [0, 0.5]: turn, then
    move along the new heading (the kinematics of ``tasks.foraging`` trajectories, which drive it).
Time
    Every step is ``ticks_per_step`` physics ticks of 0.02 s (default 10 = 0.2 s), as in the mazes;
    ``info["ticks"]`` and ``info["frames"]`` count them.
Tasks
    ``openfield``: start at a uniformly random free position and heading; no reward; the episode is
    truncated after 120 s (6000 ticks: 600 steps by default). For foraging, recordings and cells.
    ``watermaze`` (in the spirit of Morris et al. 1982): a hidden platform, a disc of radius 0.15 m
    centred in the north-east quadrant at (0.55, 0.55), never drawn in the views; each trial starts at
    the middle of one of the four walls (uniform), facing the wall; -0.001 per tick (as the mazes);
    +2 and success on the first step that ends with the agent centre on the platform; failure at
    60 s (3000 ticks: the 300th step by default). A trial is one episode (``terminated`` at either).
    The task is complete, as the 2017 tasks, when at a success S - F > 21 over the last 100 trials.
    A probe trial (``reset(options={"probe": True})``, Morris 1984) removes the platform: the agent
    swims the full 60 s (``truncated``, neither success nor failure, not counted in the trials),
    and the step that ends it gives ``info["probe"]`` (``tasks.probe.ProbeResult``: the time share
    of each quadrant and the crossings of the platform's site and of the other quadrants' sites).
``info``
    The maze tasks' keys (``tasks.INFO_KEYS``): ``pose`` (x, z, heading), ``task`` (``"openfield"`` or
    ``"watermaze"``), ``maze`` (``"openfield"``: both share the box, and so the place-cell map),
    ``zone`` (``"platform"`` while on it, else None), ``target``, ``cue``, ``cued_target`` (None),
    ``ticks``, ``frames``, ``cumulative_reward``, ``success``, ``failure``, ``trial``, ``task_complete``.

``reset(options={"pose": (x, z, heading)})`` starts at a given pose (e.g. the first pose of a
``tasks.foraging`` trajectory, so that the environment replays it step by step); ``"probe": True``
makes a water-maze trial a probe trial (both options combine: a probe from a start of your choice).

Example:
    >>> env = ArenaEnv("watermaze", render_observations=False)
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(2)
    >>> [round(float(v), 3) for v in obs["odometry"]], round(reward, 3)
    ([0.0, 0.1], -0.01)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tasks.env import DEPTH_ENCODINGS, UNITY8_RENDER_DEPTH, positive_int, check_action, encode_depth_unity8
from tasks.geometry import ARENA, ARENA_SIZE, FLOOR_Y, load_maze
from tasks.physics import ARENA_COLLISION_RADIUS, Collider, wrap_degrees
from tasks.probe import measure
from tasks.rules import FRAME_UNITS, TICK_UNITS, TIME_PENALTY_MILLI, TRIAL_WINDOW, TrialRecord
from tasks.topdown import TopDownMap, beside
from tasks.trial import FORWARD, NOOP, TURN_LEFT, TURN_RIGHT

KINEMATICS = ("discrete", "continuous")
EYE_HEIGHT = 0.3  # metres above the floor
NEAR_PLANE = 0.05  # metres: the agent comes within 0.1 m of a wall, nearer than the 2017 cameras' 0.3 m
MAX_TURN_DEG = 180.0  # bounds of a continuous action
MAX_MOVE_M = 0.5
PLATFORM_MILLI = 2000  # +2 on the platform, as a food cube
START_CLEARANCE = 0.05  # metres between the agent's circle and the wall at a water-maze start


@dataclass(frozen=True)
class ArenaTask:
    """One arena task: everything that differs between them is a field here.

    ``platform`` is the hidden goal ``(x, z, radius)`` or None; ``start`` is ``"anywhere"`` (uniform
    free position and heading) or ``"wall"`` (the middle of a uniformly drawn wall, facing it).
    """

    id: str
    gym_id: str
    time_limit_ticks: int
    start: str
    platform: tuple[float, float, float] | None = None
    time_penalty: bool = False  # -0.001 per tick, as the maze tasks

    @property
    def ends_in_failure(self) -> bool:
        """Whether the time limit is a failed trial (terminated) or just the end of an episode (truncated)."""
        return self.platform is not None


ARENA_TASKS: dict[str, ArenaTask] = {
    "openfield": ArenaTask("openfield", "wba/OpenField-v0", time_limit_ticks=6000, start="anywhere"),
    "watermaze": ArenaTask("watermaze", "wba/WaterMaze-v0", time_limit_ticks=3000, start="wall",
                           platform=(0.55, 0.55, 0.15), time_penalty=True),
}
ARENA_IDS: tuple[str, ...] = tuple(ARENA_TASKS)
#: Where a water-maze trial starts: (x, z, heading) at the middle of each wall, facing it (N, E, S, W).
WALL_STARTS: tuple[tuple[float, float, float], ...] = tuple(
    (d * math.sin(h), d * math.cos(h), h)
    for d in (ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS - START_CLEARANCE,)
    for h in (0.0, math.pi / 2, math.pi, -math.pi / 2))


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


class ArenaEnv(gym.Env):
    """The open arena: ``"openfield"`` (free foraging) or ``"watermaze"`` (a hidden platform).

    Example:
        >>> env = ArenaEnv("openfield", kinematics="continuous", render_observations=False)
        >>> _, info = env.reset(seed=0, options={"pose": (0.0, 0.0, 0.0)})
        >>> _, _, _, _, info = env.step(np.array([90.0, 0.25], np.float32))   # turn east, 0.25 m on
        >>> [round(float(v), 3) for v in info["pose"]]
        [0.25, 0.0, 1.571]
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 5}

    def __init__(
        self,
        task: str = "openfield",
        *,
        kinematics: str = "discrete",
        turn_deg: float = 15.0,
        step_m: float = 0.1,
        ticks_per_step: int = 10,
        noop_action: bool = False,
        rgb_size: int = 84,
        depth_size: int = 32,
        fov_deg: float = 90.0,
        max_depth: float = 10.0,
        depth_encoding: str = "metres",
        render_mode: str | None = None,
        render_observations: bool = True,
    ):
        """
        Args:
            task: ``"openfield"`` or ``"watermaze"`` (``ARENA_IDS``).
            kinematics: ``"discrete"`` (turn / forward actions) or ``"continuous"`` ((turn_deg, move_m)).
            turn_deg: the discrete turn, degrees (15).
            step_m: the discrete forward move, metres (0.1).
            ticks_per_step: physics ticks (0.02 s) per step: the clock of the time limit and penalty.
            noop_action: discrete kinematics: add action 3 = do nothing.
            depth_encoding: ``"metres"`` or ``"unity8"`` (the 2017 8-bit code as float32 0..255).
            render_observations: False returns black images (fast runs that need only poses).
        """
        if task not in ARENA_TASKS:
            raise ValueError(f"unknown arena task {task!r}; valid arena tasks: {', '.join(ARENA_IDS)}")
        if kinematics not in KINEMATICS:
            raise ValueError(f"unknown kinematics {kinematics!r}; valid: {', '.join(KINEMATICS)}")
        if noop_action and kinematics == "continuous":
            raise ValueError("noop_action applies to discrete kinematics only (continuous: move 0, turn 0)")
        if depth_encoding not in DEPTH_ENCODINGS:
            raise ValueError(f"unknown depth_encoding {depth_encoding!r}; valid: {', '.join(DEPTH_ENCODINGS)}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: None, 'rgb_array'")
        self.spec_row = ARENA_TASKS[task]
        self.kinematics = kinematics
        self.turn_deg = _positive("turn_deg", turn_deg)
        self.step_m = _positive("step_m", step_m)
        if self.turn_deg > MAX_TURN_DEG or self.step_m > MAX_MOVE_M:
            raise ValueError(f"turn_deg must be at most {MAX_TURN_DEG:g} and step_m at most {MAX_MOVE_M:g}, "
                             f"got {turn_deg!r}, {step_m!r}")
        self.ticks_per_step = positive_int("ticks_per_step", ticks_per_step)
        self.rgb_size = positive_int("rgb_size", rgb_size)
        self.depth_size = positive_int("depth_size", depth_size)
        self.fov_deg, self.max_depth = float(fov_deg), float(max_depth)
        self.depth_encoding = depth_encoding
        self.noop_action = noop_action
        self.render_mode = render_mode
        self.render_observations = render_observations
        self.maze = load_maze(ARENA)
        self.collider = Collider.from_maze(self.maze)

        if kinematics == "discrete":
            self.action_space = spaces.Discrete(4 if noop_action else 3)
            self.action_names = {TURN_RIGHT: f"turn right {self.turn_deg:g} deg",
                                 TURN_LEFT: f"turn left {self.turn_deg:g} deg",
                                 FORWARD: f"forward {self.step_m:g} m", NOOP: "do nothing"}
            self._commands = {TURN_RIGHT: (self.turn_deg, 0.0), TURN_LEFT: (-self.turn_deg, 0.0),
                              FORWARD: (0.0, self.step_m), NOOP: (0.0, 0.0)}
            turn_high, move_high = self.turn_deg, self.step_m
        else:
            self.action_space = spaces.Box(np.array([-MAX_TURN_DEG, 0.0], np.float32),
                                           np.array([MAX_TURN_DEG, MAX_MOVE_M], np.float32), dtype=np.float32)
            turn_high, move_high = MAX_TURN_DEG, MAX_MOVE_M
        depth_high = 255.0 if depth_encoding == "unity8" else self.max_depth
        self.observation_space = spaces.Dict({
            "rgb": spaces.Box(0, 255, (3, self.rgb_size, self.rgb_size), np.uint8),
            "depth": spaces.Box(0.0, depth_high, (1, self.depth_size, self.depth_size), np.float32),
            "odometry": spaces.Box(np.array([-turn_high, 0.0], np.float32), np.array([turn_high, move_high], np.float32),
                                   dtype=np.float32),
        })
        self.record = TrialRecord(TRIAL_WINDOW)
        self._renderer = None
        self._map: TopDownMap | None = None
        self._last_rgb: np.ndarray | None = None
        self._started = False
        self._over = False
        self.x = self.z = self.yaw = 0.0
        self.ticks = 0
        self.reward_milli = 0
        self.success = self.failure = False
        self.probe = False
        self._trial_index = 0
        self._trajectory: list[tuple[float, float]] = []

    # --- state ---------------------------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.spec_row.id

    @property
    def heading(self) -> float:
        """Heading in radians, 0 = north, +pi/2 = east, in (-pi, pi]."""
        return math.radians(self.yaw)

    def on_platform(self) -> bool:
        """Whether the agent centre is on the platform (never in a probe trial: the platform is removed)."""
        platform = self.spec_row.platform
        return platform is not None and not self.probe \
            and math.hypot(self.x - platform[0], self.z - platform[1]) <= platform[2]

    # --- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start the next trial. ``seed`` also clears the trial history; ``options={"pose": (x, z, heading)}``
        starts at that pose (heading in radians) instead of the task's start rule; ``"probe": True`` makes
        the trial a probe trial without the platform (the water maze only)."""
        super().reset(seed=seed)
        if seed is not None:
            self.record.clear()
        options = options or {}
        unknown = set(options) - {"pose", "probe"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; valid: ['pose', 'probe']")
        self.probe = self._check_probe(options.get("probe", False))
        if "pose" in options:
            x, z, heading = self._check_pose(options["pose"])
        elif self.spec_row.start == "wall":
            x, z, heading = WALL_STARTS[int(self.np_random.integers(len(WALL_STARTS)))]
        else:
            half = ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS
            x, z = (float(v) for v in self.np_random.uniform(-half, half, 2))
            heading = float(self.np_random.uniform(-math.pi, math.pi))
        self.x, self.z, self.yaw = x, z, wrap_degrees(math.degrees(heading))
        self.ticks = 0
        self.reward_milli = 0
        self.success = self.failure = False
        self._trial_index = self.record.trials
        self._trajectory = [(self.x, self.z)]
        self._started = True
        self._over = False
        return self._observe((0.0, 0.0)), self._info(task_complete=False)

    def step(self, action):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self._over:
            raise RuntimeError("the episode is over: call reset() before step()")
        turn, move = self._command(action)
        self.yaw = wrap_degrees(self.yaw + turn)
        if move > 0.0:
            h = math.radians(self.yaw)
            self.x, self.z = self.collider.move(self.x, self.z, move * math.sin(h), move * math.cos(h))
        self._trajectory.append((self.x, self.z))
        self.ticks += self.ticks_per_step
        before = self.reward_milli
        row = self.spec_row
        if row.time_penalty:
            self.reward_milli -= TIME_PENALTY_MILLI * self.ticks_per_step
        if self.on_platform():
            self.reward_milli += PLATFORM_MILLI
            self.success = True
        out_of_time = self.ticks >= row.time_limit_ticks and not self.success
        self.failure = out_of_time and row.ends_in_failure and not self.probe
        complete = False
        if self.success or self.failure:
            complete = self.success and self.record.completes_task()
            if complete:
                self.record.clear()
            else:
                self.record.add(self.success)
        reward = (self.reward_milli - before) / 1000.0
        terminated = self.success or self.failure
        truncated = out_of_time and not self.failure
        self._over = terminated or truncated
        info = self._info(task_complete=complete)
        if self.probe and truncated:
            info["probe"] = measure(np.array(self._trajectory), row.platform)
        return self._observe((turn, move)), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """First-person view (scaled to the map height) beside a top-down map with the path and the platform."""
        if self.render_mode is None:
            return None
        if not self._started:
            raise RuntimeError("call reset() before render()")
        if self._map is None:
            self._map = TopDownMap(self.maze, margin=0.1)
        view = self._last_rgb if self._last_rgb is not None else self._view()[0]
        goals = [self.spec_row.platform] if self.spec_row.platform is not None else []
        return beside(view, self._map.draw(self._trajectory, self.heading, agent_radius=ARENA_COLLISION_RADIUS,
                                           goals=goals))

    # --- internals -------------------------------------------------------------------------------
    def _check_probe(self, probe: Any) -> bool:
        if not isinstance(probe, (bool, np.bool_)):
            raise ValueError(f"reset option 'probe' must be True or False, got {probe!r}")
        if probe and self.spec_row.platform is None:
            raise ValueError(f"reset option 'probe': a probe trial removes the platform, and task {self.task!r} has "
                             f"none; probe the water maze (tasks.make('watermaze'))")
        return bool(probe)

    def _check_pose(self, pose: Any) -> tuple[float, float, float]:
        values = np.asarray(pose, dtype=float).reshape(-1)
        if values.shape != (3,) or not np.isfinite(values).all():
            raise ValueError(f"reset option 'pose' must be (x, z, heading) with finite values, got {pose!r}")
        x, z, heading = (float(v) for v in values)
        if self.collider.clearance(np.array([[x, z]]))[0] < self.collider.radius - 1e-9:
            half = ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS
            raise ValueError(f"reset option 'pose': ({x:g}, {z:g}) is not free; the agent centre must lie in "
                             f"[-{half:g}, {half:g}] along x and z")
        return x, z, heading

    def _command(self, action: Any) -> tuple[float, float]:
        if self.kinematics == "discrete":
            return self._commands[check_action(action, self.action_space.n, self.action_names)]
        values = np.asarray(action, dtype=float).reshape(-1)
        if values.shape != (2,) or not np.isfinite(values).all() or abs(values[0]) > MAX_TURN_DEG + 1e-4 \
                or not -1e-6 <= values[1] <= MAX_MOVE_M + 1e-6:
            raise ValueError(f"invalid action {action!r}; a continuous action is (turn_deg, move_m) with turn_deg in "
                             f"[-{MAX_TURN_DEG:g}, {MAX_TURN_DEG:g}] and move_m in [0, {MAX_MOVE_M:g}]")
        return float(values[0]), max(float(values[1]), 0.0)

    def _view(self) -> tuple[np.ndarray, np.ndarray]:
        if self._renderer is None:
            from tasks.render import Renderer  # imported on first use: pose-only runs need no renderer

            far = max(self.max_depth, UNITY8_RENDER_DEPTH) if self.depth_encoding == "unity8" else self.max_depth
            self._renderer = Renderer(self.maze, rgb_size=self.rgb_size, depth_size=self.depth_size,
                                      fov_deg=self.fov_deg, max_depth=far, near=NEAR_PLANE)
        rgb, depth = self._renderer.render(self.x, self.z, self.heading, FLOOR_Y + EYE_HEIGHT)
        if self.depth_encoding == "unity8":
            depth = encode_depth_unity8(depth, self._renderer.last_sky_mask, "dec2017")
        return rgb, depth

    def _observe(self, command: tuple[float, float]) -> dict[str, np.ndarray]:
        if self.render_observations:
            rgb, depth = self._view()
            self._last_rgb = rgb
        else:
            rgb = np.zeros((3, self.rgb_size, self.rgb_size), np.uint8)
            depth = np.zeros((1, self.depth_size, self.depth_size), np.float32)
            self._last_rgb = None
        return {"rgb": rgb, "depth": depth, "odometry": np.array(command, np.float32)}

    def _info(self, task_complete: bool) -> dict[str, Any]:
        return {
            "pose": np.array([self.x, self.z, self.heading], np.float32),
            "task": self.task,
            "maze": ARENA,
            "zone": "platform" if self.on_platform() else None,
            "target": None,
            "cue": None,
            "cued_target": None,
            "ticks": self.ticks,
            "frames": self.ticks * TICK_UNITS // FRAME_UNITS,
            "cumulative_reward": self.reward_milli / 1000.0,
            "success": self.success,
            "failure": self.failure,
            "trial": self._trial_index,
            "task_complete": task_complete,
        }
