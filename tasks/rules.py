"""The 16 WBAI 2017 maze tasks, as one row of data each plus a few small rule functions.

Source: ``SPEC.md`` (read from the Unity project ``wbap/hackathon-2017-sample``). Two rule
versions exist: ``"dec2017"`` (repository HEAD, the default) and ``"sep2017"`` (the hackathon).

Actions
    ``0`` turn right 10 deg, ``1`` turn left 10 deg, ``2`` move forward 2 m (instantaneous, with
    collide-and-slide), optional ``3`` do nothing.

Time
    Unity time runs in physics ticks of 0.02 s and frames of 1/60 s. The 2017 agent acted
    asynchronously, one action per HTTP round trip, so each task's timers counted Unity time,
    not actions. Here the world runs in lock-step: every action is followed by
    ``ticks_per_step`` ticks (default 10 = 0.2 s, about one round trip of the 2017 agent:
    PNG encoding, HTTP, AlexNet features and a network update), so a 120-tick wait is 12 agent
    steps and a trial without reward fails on its 181st step (tick 1801). Frames (60 per
    second) run on the same integer clock, 6 frames per 5 ticks.

Reward (the 2017 running total of a trial; environments return its per-step difference)
    -0.001 per tick; +2 for the zone bonus; +2 for each food cube touched (agent centre within
    1 m of the cube's footprint).

Tasks
    1-1 Approach: a food cube waits at the north end of the 1-D corridor; touch it. The start
        moves 1 m south per net success: z = 22 - (S - F).
    1-2 Pass through green: entering the green zone gives the bonus and spawns the food at the
        north end; touch it.
    1-3, 1-4, 1-5 Stop at green / red / blue: stay inside the zone for 121 consecutive ticks
        (turning in place counts as staying), then fetch the spawned food.
    1-6 Colour sequence: as 1-3..1-5 with the target cycling red, green, blue over trials,
        ``(S + F) mod 3``, with no cue.
    1-7 Shape cue: a random target, announced by a full-screen shape (circle = red, triangle
        = green, square = blue) for the first 130 ticks, during which the agent is paralysed.
    1-8a..1-8d As 1-3, 1-4, 1-6, 1-7 in a corridor without colours (find the place by distance).
    2-1 Arrow maze: wait 121 frames anywhere with x in [0, 4] (green walls); a food cube then
        appears at the goal in the east arm; touch it.
    2-2 The V route is blocked by a red wall: detour by the north loop.
    2-3 The middle corridor opens: a shorter route.
    3-1 Cross maze: start at the south, east or west end (random); food at the north end.
    3-2 Start in the centre facing a random direction; collect the three foods (N, E, W).

Start and termination
    A trial succeeds when enough food has been touched (rewardCount rule of each task) and
    fails when the running total drops below -1.8 (1801 ticks without reward). A task is
    complete when, at a success, S - F > 21 over the recorded trials (last 100 at HEAD).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

Clock = Literal["tick", "frame"]
VERSIONS = ("dec2017", "sep2017")

# Unity time in integer units of 1/300 s: a physics tick (0.02 s) and a frame (1/60 s).
TICK_UNITS = 6
FRAME_UNITS = 5

TIME_PENALTY_MILLI = 1  # -0.001 per tick, kept in integer thousandths to make 1801 exact
BONUS_MILLI = 2000
FOOD_MILLI = 2000
FAILURE_BELOW_MILLI = -1800
FOOD_REACH = 1.0  # metres from the agent centre to the cube footprint
COMPLETION_MARGIN = 21  # task complete at a success when S - F > 21
TRIAL_WINDOW = 100

# 1-D zone intervals on z (Range.cs, inclusive), and the Arrow wait interval on x.
ZONES_Z: dict[str, tuple[float, float]] = {"blue": (5.5, 9.5), "green": (11.5, 15.5), "red": (17.5, 21.5)}
ARROW_WAIT_X = (0.0, 4.0)
PHASE_TARGETS = ("red", "green", "blue")  # (S + F) mod 3 in 1-6/1-8c; Random phase in 1-7/1-8d
CUE_SHAPES = {"red": "circle", "green": "triangle", "blue": "square"}

ONE_DIM_FOOD = (0.0, 23.0)
ARROW_GOAL = (10.56, 8.05)
EYE_Y = 1.6  # camera 0.2 m above the agent root (y 1.4)
EYE_Y_LOW = 1.32  # 1-1 and 3-1 put the root at y 1.12


@dataclass(frozen=True)
class Timer:
    """A count of ``n`` ticks or frames."""

    n: int
    clock: Clock


@dataclass(frozen=True)
class Food:
    """A 1 m reward cube on the floor centred at (x, z)."""

    x: float
    z: float
    visible: bool = True


@dataclass(frozen=True)
class Pose:
    x: float
    z: float
    yaw: int  # degrees, 0 = north, 90 = east


@dataclass(frozen=True)
class TaskSpec:
    """One task: everything that differs between tasks is a field here.

    ``target`` is a colour, ``"cycle"`` ((S + F) mod 3), ``"random"`` (with a cue), ``"wait"``
    (the Arrow x-interval) or ``None`` (no zone bonus). The zone bonus fires on the
    ``wait.n + 1``-th consecutive tick/frame with the agent centre inside the target zone.
    """

    id: str
    scene: str
    maze: str
    layout: str
    starts: tuple[Pose, ...]  # one is drawn uniformly per trial
    eye_y: float = EYE_Y
    moving_start: bool = False  # 1-1: z = 22 - (S - F)
    target: str | None = None
    wait: Timer | None = None
    cue: Timer | None = None
    foods: tuple[Food, ...] = ()  # present when the trial starts
    bonus_food: Food | None = None  # spawned by the zone bonus
    bonus_counts: bool = True  # the bonus also counts towards success (1-D), not in the Arrow maze
    success_count: int = 1  # rewards needed (rewardCount > success_count - 1)

    @property
    def family(self) -> str:
        return {"onedim": "OneDim", "onedim_colourless": "OneDim", "arrow": "Arrow", "cross": "Cross"}[self.maze]


# --- the table -----------------------------------------------------------------------------
_START_1D = (Pose(0.0, 0.0, 0),)
_TICKS_120 = Timer(120, "tick")
_FRAMES_120 = Timer(120, "frame")


def _one_dim(id_: str, scene: str, target: str, wait: Timer, cue: Timer | None = None,
             colourless: bool = False) -> TaskSpec:
    return TaskSpec(
        id=id_, scene=scene, maze="onedim_colourless" if colourless else "onedim", layout="OneDimTask",
        starts=_START_1D, target=target, wait=wait, cue=cue, bonus_food=Food(*ONE_DIM_FOOD), success_count=2,
    )


def _arrow(id_: str, n: int, invisible_goal: bool) -> TaskSpec:
    goal = (Food(*ARROW_GOAL, visible=False),) if invisible_goal else ()
    return TaskSpec(
        id=id_, scene=f"ArrowMazeTask{n}", maze="arrow", layout=f"ArrowMazeTask{n}",
        starts=(Pose(-7.28, 8.14, 0),), target="wait", wait=_FRAMES_120, foods=goal,
        bonus_food=Food(*ARROW_GOAL), bonus_counts=False, success_count=1,
    )


def _head_table() -> dict[str, TaskSpec]:
    rows = [
        TaskSpec(id="1-1", scene="OneDimTask1", maze="onedim", layout="OneDimTask", starts=(Pose(0.0, 22.0, 0),),
                 eye_y=EYE_Y_LOW, moving_start=True, foods=(Food(*ONE_DIM_FOOD),), success_count=1),
        _one_dim("1-2", "OneDimTask2", "green", Timer(0, "tick")),
        _one_dim("1-3", "OneDimTask3", "green", _TICKS_120),
        _one_dim("1-4", "OneDimTask4", "red", _TICKS_120),
        _one_dim("1-5", "OneDimTask5", "blue", _TICKS_120),
        _one_dim("1-6", "OneDimTask6", "cycle", _TICKS_120),
        _one_dim("1-7", "OneDimTask7", "random", _TICKS_120, cue=Timer(130, "tick")),
        _one_dim("1-8a", "OneDimTask8a", "green", _TICKS_120, colourless=True),
        _one_dim("1-8b", "OneDimTask8b", "red", _FRAMES_120, colourless=True),
        _one_dim("1-8c", "OneDimTask8c", "cycle", _FRAMES_120, colourless=True),
        _one_dim("1-8d", "OneDimTask8d", "random", _FRAMES_120, cue=_FRAMES_120, colourless=True),
        _arrow("2-1", 1, invisible_goal=False),
        _arrow("2-2", 2, invisible_goal=True),
        _arrow("2-3", 3, invisible_goal=True),
        # The south start is z = 0.5 in Unity, overlapping the end wall; the controller is pushed
        # out to z = 1.08 on its first move, so it starts there (SPEC 4.2).
        TaskSpec(id="3-1", scene="CrossMazeTask1", maze="cross", layout="CrossMazeTask", eye_y=EYE_Y_LOW,
                 starts=(Pose(0.0, 1.08, 0), Pose(12.0, 12.5, -90), Pose(-12.0, 12.5, 90)),
                 foods=(Food(0.0, 24.0),), success_count=1),
        TaskSpec(id="3-2", scene="CrossMazeTask2", maze="cross", layout="CrossMazeTask",
                 starts=tuple(Pose(0.0, 12.5, yaw) for yaw in (0, -90, 90, 180)),
                 foods=(Food(12.0, 12.5), Food(0.0, 24.0), Food(-12.0, 12.5)), success_count=3),
    ]
    return {row.id: row for row in rows}


def _sep2017(table: dict[str, TaskSpec]) -> dict[str, TaskSpec]:
    """The hackathon version (SPEC 5): frame timers, other 1-8a/b targets, invisible arrow goal only."""
    out = dict(table)
    for tid in ("1-2", "1-3", "1-4", "1-5", "1-6", "1-7", "1-8a"):
        out[tid] = replace(out[tid], wait=replace(out[tid].wait, clock="frame"))
    out["1-7"] = replace(out["1-7"], cue=_FRAMES_120)
    out["1-8a"] = replace(out["1-8a"], target="red")
    out["1-8b"] = replace(out["1-8b"], target="blue")
    for tid in ("2-1", "2-2", "2-3"):
        out[tid] = replace(out[tid], foods=(Food(*ARROW_GOAL, visible=False),), bonus_food=None)
    return out


TASK_IDS: tuple[str, ...] = tuple(_head_table())
# Startup.unity: Cross before Arrow; the hackathon build could not load the 1-8x scenes.
CURRICULUM: dict[str, tuple[str, ...]] = {
    "dec2017": ("1-1", "1-2", "1-3", "1-4", "1-5", "1-6", "1-7", "1-8a", "1-8b", "1-8c", "1-8d",
                "3-1", "3-2", "2-1", "2-2", "2-3"),
    "sep2017": ("1-1", "1-2", "1-3", "1-4", "1-5", "1-6", "1-7", "3-1", "3-2", "2-1", "2-2", "2-3"),
}


def task_spec(task_id: str, version: str = "dec2017", invisible_goal: bool | None = None) -> TaskSpec:
    """The rules of ``task_id`` in rule ``version``.

    ``invisible_goal`` (Arrow tasks only) adds or removes the invisible goal cube that HEAD
    leaves in 2-2/2-3 (SPEC 3.2 quirk); ``None`` keeps the version's own choice.
    """
    if version not in VERSIONS:
        raise ValueError(f"unknown version {version!r}; valid versions: {', '.join(VERSIONS)}")
    if task_id not in TASK_IDS:
        raise ValueError(f"unknown task id {task_id!r}; valid task ids: {', '.join(TASK_IDS)}")
    table = _head_table()
    spec = (_sep2017(table) if version == "sep2017" else table)[task_id]
    if invisible_goal is not None:
        if spec.maze != "arrow":
            raise ValueError(f"invisible_goal applies to the Arrow tasks 2-1..2-3 only, not {task_id!r}")
        visible = tuple(f for f in spec.foods if f.visible)
        goal = (Food(*ARROW_GOAL, visible=False),) if invisible_goal else ()
        spec = replace(spec, foods=visible + goal)
        if spec.bonus_food is None and not spec.foods:
            raise ValueError(f"task {task_id} ({version}) without the invisible goal has no reward to reach; "
                             "use invisible_goal=True or None")
    return spec


# --- trial history and the rules that read it ----------------------------------------------
class TrialRecord:
    """Outcomes of the trials of one task: the last 100 at HEAD, all of them in the hackathon.

    ``successes`` and ``failures`` are the S and F of the Unity code (counted before the
    current trial is added); they drive 1-1's start, 1-6/1-8c's target and completion.
    """

    def __init__(self, window: int | None = TRIAL_WINDOW, history: str = ""):
        self.window = window
        self._outcomes: deque[bool] = deque(maxlen=window)
        self.successes = 0
        self.failures = 0
        for ch in history:
            if ch not in "SF":
                raise ValueError(f"trial history must be a string of 'S' and 'F', got {history!r}")
            self.add(ch == "S")

    def add(self, success: bool) -> None:
        if self.window is not None and len(self._outcomes) == self.window:
            if self._outcomes[0]:
                self.successes -= 1
            else:
                self.failures -= 1
        self._outcomes.append(success)
        if success:
            self.successes += 1
        else:
            self.failures += 1

    def completes_task(self) -> bool:
        """The completion rule, asked at a success before it is recorded: S - F > 21."""
        return self.successes - self.failures > COMPLETION_MARGIN

    def clear(self) -> None:
        self._outcomes.clear()
        self.successes = self.failures = 0

    @property
    def trials(self) -> int:
        return self.successes + self.failures

    def history(self) -> str:
        return "".join("S" if s else "F" for s in self._outcomes)


def trial_window(version: str) -> int | None:
    return TRIAL_WINDOW if version == "dec2017" else None


def choose_target(spec: TaskSpec, record: TrialRecord, rng: np.random.Generator) -> str | None:
    """The trial's target: fixed, cycling with (S + F) mod 3, or drawn at random (cue tasks)."""
    if spec.target == "cycle":
        return PHASE_TARGETS[record.trials % 3]
    if spec.target == "random":
        return PHASE_TARGETS[int(rng.integers(3))]
    return spec.target


def possible_targets(spec: TaskSpec) -> tuple[str | None, ...]:
    """Every target a trial of ``spec`` can have (:func:`choose_target`): one, or the three phases."""
    return PHASE_TARGETS if spec.target in ("cycle", "random") else (spec.target,)


def choose_start(spec: TaskSpec, record: TrialRecord, rng: np.random.Generator) -> Pose:
    """The trial's start pose: 1-1 moves south with net successes; 3-1/3-2 draw one at random."""
    start = spec.starts[0] if len(spec.starts) == 1 else spec.starts[int(rng.integers(len(spec.starts)))]
    if spec.moving_start:
        return replace(start, z=start.z - (record.successes - record.failures))
    return start


def zone_of(maze: str, x: float, z: float) -> str | None:
    """Name of the zone holding the agent centre: a 1-D colour interval or the Arrow wait strip."""
    if maze in ("onedim", "onedim_colourless"):
        for name, (lo, hi) in ZONES_Z.items():
            if lo <= z <= hi:
                return name
    elif maze == "arrow" and ARROW_WAIT_X[0] <= x <= ARROW_WAIT_X[1]:
        return "wait"
    return None


def cue_shape(spec: TaskSpec, target: str | None) -> str | None:
    """The shape announcing ``target`` in the cue tasks (1-7, 1-8d), else None."""
    return CUE_SHAPES[target] if spec.cue is not None and target is not None else None
