"""The embedded WBAI 2017 maze simulator as a ``gymnasium.Env`` (contract: docs/interfaces.md section 1).

Observation
    ``{"rgb": uint8 [3, S, S], "depth": float32 [1, d, d], "odometry": float32 [2]}``: the
    first-person view (90 deg field of view, eye 1.2 m above the floor), depth along the optical
    axis in metres (or the 2017 8-bit code with ``depth_encoding="unity8"``), and the commanded
    (turn_deg, move_m) of the action just applied.
Actions
    ``Discrete(3)``: 0 turn right 10 deg, 1 turn left 10 deg, 2 forward 2 m; ``noop_action=True``
    adds 3 = do nothing.
Reward
    Per-step difference of the 2017 running total (-0.001 per tick, +2 bonus, +2 per food).
Episode
    One trial. ``terminated`` at success or failure; never truncated (failure bounds every trial).
    The task's trial history (S, F) persists across ``reset()`` calls as in Unity; a seeded
    ``reset(seed=...)`` starts the task afresh so that everything after it is reproducible.
    When the completion rule fires, the history is cleared and the next task of the order starts
    (the same task again for a single-task environment).

The rules themselves live in ``tasks.rules`` (data) and ``tasks.trial`` (clock and counters).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tasks.geometry import Box, Maze, cube_box, load_maze
from tasks.physics import MOVE_DISTANCE, TURN_DEGREES, Collider
from tasks.rules import (
    CURRICULUM, FRAME_UNITS, TASK_IDS, TICK_UNITS, VERSIONS, Pose, TaskSpec, TrialRecord, possible_targets, task_spec,
    trial_window, zone_of,
)
from tasks.topdown import TopDownMap, beside
from tasks.trial import FORWARD, NOOP, TURN_LEFT, TURN_RIGHT, Trial

ACTION_NAMES = {TURN_RIGHT: "turn right 10 deg", TURN_LEFT: "turn left 10 deg", FORWARD: "forward 2 m",
                NOOP: "do nothing"}
ODOMETRY = {TURN_RIGHT: (float(TURN_DEGREES), 0.0), TURN_LEFT: (-float(TURN_DEGREES), 0.0),
            FORWARD: (0.0, MOVE_DISTANCE), NOOP: (0.0, 0.0)}  # commanded, even if blocked or paralysed
DEPTH_ENCODINGS = ("metres", "unity8")
CURRICULUM_ID = "curriculum"
#: ``reset(options=...)`` keys: the trial record, and a trial's start pose and target (a replay).
RESET_OPTIONS = ("history", "start", "target")
INVISIBLE_MATERIAL = "Fade.mat"  # tasks.render draws boxes of this material in the depth image only

UNITY8_RENDER_DEPTH = 20.0  # metres: beyond every 8-bit code's saturation (10.6 m)


def encode_depth_unity8(depth_m: np.ndarray, sky: np.ndarray, version: str) -> np.ndarray:
    """The 2017 8-bit depth PNG value (SPEC 1.4, 5) as float32 0..255, from metric depth.

    HEAD: round(clip((d - 0.6) / 10) * 255), sky 74 (the grey of the camera background);
    hackathon (near 0.01 m, far 20 m, white background): round(clip(d / 10) * 255), sky 255.
    ``sky`` is the renderer's mask of pixels that hit nothing.
    """
    if version == "dec2017":
        from tasks.render import encode_depth_unity8 as head_code

        return head_code(depth_m, sky)
    code = np.floor(np.clip(depth_m / 10.0, 0.0, 1.0) * 255.0 + 0.5)
    return np.where(sky, 255.0, code).astype(np.float32)


def check_action(action: Any, n: int, names: dict[int, str] = ACTION_NAMES) -> int:
    """``action`` as an int in ``[0, n)``, or ``ValueError`` naming the valid actions (every environment's rule)."""
    try:
        a = int(action)
        ok = a == action and 0 <= a < n
    except (TypeError, ValueError):
        ok = False
    if not ok:
        valid = ", ".join(f"{k} = {v}" for k, v in names.items() if k < n)
        raise ValueError(f"invalid action {action!r}; valid actions: {valid}")
    return a


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class MazeEnv(gym.Env):
    """One WBAI 2017 task (e.g. ``"1-3"``) or the whole curriculum (``"curriculum"``).

    Example:
        >>> env = MazeEnv("1-3")
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(2)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 5}

    def __init__(
        self,
        task: str = "1-3",
        *,
        version: str = "dec2017",
        ticks_per_step: int = 10,
        frames_per_step: int | None = None,
        noop_action: bool = False,
        rgb_size: int = 84,
        depth_size: int = 32,
        fov_deg: float = 90.0,
        max_depth: float = 10.0,
        depth_encoding: str = "metres",
        invisible_goal: bool | None = None,
        camera: str | None = None,
        start_task: str | None = None,
        render_mode: str | None = None,
        render_observations: bool = True,
    ):
        """
        Args:
            task: a task id (``tasks.rules.TASK_IDS``) or ``"curriculum"`` (tasks in 2017 order).
            version: ``"dec2017"`` (repository HEAD) or ``"sep2017"`` (hackathon rules).
            ticks_per_step: physics ticks (0.02 s) of Unity time after each action.
            frames_per_step: if given, frames (1/60 s) per action instead (1 = the 2017 autorun).
            noop_action: add action 3 = do nothing.
            depth_encoding: ``"metres"`` or ``"unity8"`` (2017 8-bit code as float32 0..255).
            invisible_goal: Arrow tasks: force the invisible goal cube on/off (None = as the version).
            camera: 2017 camera settings, ``"dec2017"`` or ``"sep2017"`` (far plane 20 m, white 1-D
                sky; ``tasks.render.CAMERAS``); None = the same as ``version``.
            start_task: first task of the curriculum.
            render_observations: False returns black images (rule tests, headless speed runs).
        """
        if version not in CURRICULUM:
            raise ValueError(f"unknown version {version!r}; valid versions: {', '.join(CURRICULUM)}")
        if task == CURRICULUM_ID:
            order = CURRICULUM[version]
        elif task in TASK_IDS:
            order = (task,)
        else:
            raise ValueError(f"unknown task id {task!r}; valid task ids: {', '.join(TASK_IDS)}, {CURRICULUM_ID}")
        if start_task is not None and start_task not in order:
            raise ValueError(f"start_task {start_task!r} is not in the task order {order}")
        if frames_per_step is not None:
            self.step_units = positive_int("frames_per_step", frames_per_step) * FRAME_UNITS
        else:
            self.step_units = positive_int("ticks_per_step", ticks_per_step) * TICK_UNITS
        if depth_encoding not in DEPTH_ENCODINGS:
            raise ValueError(f"unknown depth_encoding {depth_encoding!r}; valid: {', '.join(DEPTH_ENCODINGS)}")
        camera = version if camera is None else camera
        if camera not in VERSIONS:  # the camera presets of tasks.render.CAMERAS, one per version
            raise ValueError(f"unknown camera {camera!r}; valid cameras: {', '.join(VERSIONS)}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: None, 'rgb_array'")
        positive_int("rgb_size", rgb_size)
        positive_int("depth_size", depth_size)
        if invisible_goal is not None and not any(t.startswith("2-") for t in order):
            raise ValueError(f"invisible_goal applies to the Arrow tasks 2-1..2-3 only, not {task!r}")
        self.order = order
        self.version = version
        self.invisible_goal = invisible_goal
        self.specs: dict[str, TaskSpec] = {
            t: task_spec(t, version, invisible_goal if t.startswith("2-") else None) for t in order
        }
        self._start_index = order.index(start_task) if start_task is not None else 0
        self._task_index = self._start_index
        self._next_task_index = self._start_index  # applied at the next reset (moves on at completion)
        self.noop_action = noop_action
        self.rgb_size, self.depth_size = int(rgb_size), int(depth_size)
        self.fov_deg, self.max_depth = float(fov_deg), float(max_depth)
        self.depth_encoding = depth_encoding
        self.camera = camera
        self.render_mode = render_mode
        self.render_observations = render_observations
        self._render_far = max(self.max_depth, UNITY8_RENDER_DEPTH) if depth_encoding == "unity8" else self.max_depth

        self.action_space = spaces.Discrete(4 if noop_action else 3)
        depth_high = 255.0 if depth_encoding == "unity8" else self.max_depth
        self.observation_space = spaces.Dict({
            "rgb": spaces.Box(0, 255, (3, self.rgb_size, self.rgb_size), np.uint8),
            "depth": spaces.Box(0.0, depth_high, (1, self.depth_size, self.depth_size), np.float32),
            "odometry": spaces.Box(np.array([-10.0, 0.0], np.float32), np.array([10.0, 2.0], np.float32),
                                   dtype=np.float32),
        })
        self._odometry = {a: np.array(v, np.float32) for a, v in ODOMETRY.items()}
        self._blank_rgb = np.zeros((3, self.rgb_size, self.rgb_size), np.uint8)
        self._blank_depth = np.zeros((1, self.depth_size, self.depth_size), np.float32)
        self._renderers: dict[tuple[str, str], Any] = {}
        self._colliders: dict[tuple[str, str], Collider] = {}
        self._maps: dict[tuple[str, str], TopDownMap] = {}
        self._food_boxes: dict[int, Box] = {}
        self.record = TrialRecord(trial_window(version))
        self.trial: Trial | None = None
        self._trial_index = 0
        self._last_rgb: np.ndarray | None = None
        self._trajectory: list[tuple[float, float]] = []

    # --- properties ------------------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.order[self._task_index]

    @property
    def rules(self) -> TaskSpec:
        return self.specs[self.task]

    @property
    def maze(self) -> Maze:
        s = self.rules
        return load_maze(s.maze, s.layout)

    # --- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start the next trial. ``seed`` also restarts the task (history cleared, first task).

        ``options={"history": "SSF..."}`` sets the task's trial record (e.g. to start 1-6 at a
        given phase or 1-1 at a given distance). ``options={"start": (x, z, yaw_deg), "target": "red"}``
        starts the trial at that pose (metres; degrees, 0 = north, 90 = east) with that target instead
        of the ones the rules would choose: a recorded trial replayed (``analysis.replay``).
        """
        super().reset(seed=seed)
        if seed is not None:
            self._next_task_index = self._start_index
            self.record.clear()
        self._task_index = self._next_task_index
        options = options or {}
        unknown = set(options) - set(RESET_OPTIONS)
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; valid: {list(RESET_OPTIONS)}")
        if "history" in options:
            self.record = TrialRecord(trial_window(self.version), options["history"])
        self._new_trial(self._start_option(options.get("start")), self._target_option(options.get("target")))
        return self._observe(NOOP), self._info(task_complete=False)

    def step(self, action):
        a = check_action(action, self.action_space.n)
        trial = self.trial
        if trial is None or trial.done:
            raise RuntimeError("the trial is over (or never started): call reset() before step()")
        before = trial.reward_milli
        trial.act(a)
        trial.advance(self.step_units)
        self._trajectory.append((trial.x, trial.z))
        reward = (trial.reward_milli - before) / 1000.0
        complete = self._record_outcome() if trial.done else False
        return self._observe(a), reward, trial.done, False, self._info(task_complete=complete)

    def render(self) -> np.ndarray | None:
        """First-person view (scaled to the map height) beside a top-down map with the path."""
        if self.render_mode is None:
            return None
        if self.trial is None:
            raise RuntimeError("call reset() before render()")
        key = (self.maze.name, self.maze.layout)
        if key not in self._maps:
            self._maps[key] = TopDownMap(self.maze)
        top = self._maps[key]
        trial = self.trial
        foods = [(lf.food.x, lf.food.z, lf.food.visible) for lf in trial.foods]
        view = self._last_rgb if self._last_rgb is not None else self._render_view()[0]
        return beside(view, top.draw(self._trajectory, trial.heading, foods))

    def close(self) -> None:
        self._renderers.clear()

    # --- internals -------------------------------------------------------------------------
    def _start_option(self, start: Any) -> Pose | None:
        """The ``start`` reset option as a pose, or ``ValueError`` saying what it must be."""
        if start is None:
            return None
        try:
            x, z, yaw = (float(value) for value in start)
            ok = all(np.isfinite([x, z, yaw])) and yaw == round(yaw)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"reset option start must be (x, z, yaw) with x, z in metres and yaw in whole degrees, "
                             f"got {start!r}")
        return Pose(x, z, int(yaw))

    def _target_option(self, target: Any) -> str | None:
        """The ``target`` reset option, checked against the targets the task's trials can have."""
        valid = [name for name in possible_targets(self.rules) if name is not None]
        if target is not None and target not in valid:
            raise ValueError(f"reset option target {target!r} is not a target of task {self.task}; valid: "
                             f"{', '.join(valid) or 'none (the task has no target)'}")
        return target

    def _new_trial(self, start: Pose | None = None, target: str | None = None) -> None:
        spec = self.rules
        key = (spec.maze, spec.layout)
        if key not in self._colliders:
            self._colliders[key] = Collider.from_maze(load_maze(*key))
        self._trial_index = self.record.trials
        self.trial = Trial(spec, self._colliders[key], self.record, self.np_random, start, target)
        self._trajectory = [(self.trial.x, self.trial.z)]
        self._food_boxes = {}

    def _record_outcome(self) -> bool:
        """Book the finished trial; True when it completed the task (then the next task is set up)."""
        if self.trial.success and self.record.completes_task():
            self.record.clear()
            self._next_task_index = (self._task_index + 1) % len(self.order)
            return True
        self.record.add(self.trial.success)
        return False

    def _renderer(self):
        key = (self.maze.name, self.maze.layout)
        if key not in self._renderers:
            from tasks.render import Renderer  # imported on first use: rule-only runs need no renderer

            self._renderers[key] = Renderer(self.maze, rgb_size=self.rgb_size, depth_size=self.depth_size,
                                            fov_deg=self.fov_deg, max_depth=self._render_far, camera=self.camera)
        return self._renderers[key]

    def _extra_boxes(self) -> list[Box]:
        """Food cubes for the renderer; the invisible 2-2/2-3 goal shows in the depth image only."""
        boxes = []
        for live in self.trial.foods:
            if live.index not in self._food_boxes:
                material = "Food.mat" if live.food.visible else INVISIBLE_MATERIAL
                self._food_boxes[live.index] = cube_box(f"Food {live.index}", live.food.x, live.food.z, material)
            boxes.append(self._food_boxes[live.index])
        return boxes

    def _render_view(self) -> tuple[np.ndarray, np.ndarray]:
        t = self.trial
        renderer = self._renderer()
        rgb, depth = renderer.render(t.x, t.z, t.heading, self.rules.eye_y, self._extra_boxes(), t.cue)
        if self.depth_encoding == "unity8":
            depth = encode_depth_unity8(depth, renderer.last_sky_mask, self.camera)
        return rgb, depth

    def _observe(self, action: int) -> dict[str, np.ndarray]:
        if self.render_observations:
            rgb, depth = self._render_view()
            self._last_rgb = rgb
        else:
            rgb, depth = self._blank_rgb.copy(), self._blank_depth.copy()
            self._last_rgb = None
        return {"rgb": rgb, "depth": depth, "odometry": self._odometry[action].copy()}

    def _info(self, task_complete: bool) -> dict[str, Any]:
        t = self.trial
        spec = self.rules
        return {
            "pose": np.array([t.x, t.z, t.heading], np.float32),
            "task": spec.id,
            "maze": spec.maze,
            "zone": zone_of(spec.maze, t.x, t.z),
            "target": t.target if spec.family == "OneDim" else None,
            "cue": t.cue,
            "cued_target": t.target if spec.cue is not None else None,
            "ticks": t.ticks,
            "frames": t.frames,
            "cumulative_reward": t.cumulative_reward,
            "success": t.success,
            "failure": t.failure,
            "trial": self._trial_index,
            "task_complete": task_complete,
        }
