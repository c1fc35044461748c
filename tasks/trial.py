"""One trial of a task: the agent's pose, the Unity clock, the running reward and the counters.

The clock is exact integer arithmetic in units of 1/300 s: a physics tick is 6 units (0.02 s),
a frame 5 units (1/60 s). ``advance`` replays every tick and frame in time order (at equal
times the tick first, as Unity runs ``FixedUpdate`` before ``Update``):

* tick: time penalty, tick-based zone/cue timers, food contact (a physics event);
* frame: frame-based zone/cue timers, then the success test, then the failure test
  (``Environment.Update``). The trial stops at the frame where it ended.

Food cubes are touched, not bumped into: they do not stop a move. A cube is collected on the
first tick with the agent centre within 1 m of its footprint and vanishes at once, so blocking
would only change where the agent stands afterwards, and the 2017 reference solution of 3-2
works only without it (a blocking west cube stops the agent 0.58 m short, and its way back
then ends against the corner of the north arm).

This module knows nothing about rendering or gymnasium; ``tasks.env`` wraps it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tasks.physics import MOVE_DISTANCE, TURN_DEGREES, Collider, direction, rect_distance, wrap_degrees
from tasks.rules import (
    ARROW_WAIT_X, BONUS_MILLI, FAILURE_BELOW_MILLI, FOOD_MILLI, FOOD_REACH, FRAME_UNITS, TICK_UNITS,
    TIME_PENALTY_MILLI, ZONES_Z, Food, Pose, TaskSpec, TrialRecord, choose_start, choose_target, cue_shape,
)

TURN_RIGHT, TURN_LEFT, FORWARD, NOOP = 0, 1, 2, 3
_REACH = FOOD_REACH + 1e-9  # round-off guard: 2 m steps land exactly 1 m from some cubes


@dataclass
class LiveFood:
    food: Food
    index: int  # stable id for the renderer / map


class Trial:
    """State and rules of one trial. Create one per trial; ``act`` then ``advance``."""

    def __init__(self, spec: TaskSpec, collider: Collider, record: TrialRecord, rng: np.random.Generator,
                 start: Pose | None = None, target: str | None = None):
        """``start`` and ``target`` replace the pose and target the rules would choose (a replayed trial)."""
        self.spec = spec
        self.collider = collider
        self.target = choose_target(spec, record, rng) if target is None else target
        start = choose_start(spec, record, rng) if start is None else start
        self.x, self.z, self.yaw = float(start.x), float(start.z), wrap_degrees(int(start.yaw))
        self.time = 0  # units of 1/300 s
        self.ticks = 0
        self.frames = 0
        self.reward_milli = 0  # the 2017 running total, in thousandths
        self.reward_count = 0  # Unity's rewardCount: food touched (+ the 1-D zone bonus)
        self.success = False
        self.failure = False
        self.foods: list[LiveFood] = [LiveFood(f, i) for i, f in enumerate(spec.foods)]
        self._next_food_index = len(self.foods)
        self._zone_count = 0
        self._bonus_given = False
        self._cue_on = spec.cue is not None
        self._zone = self._target_interval()
        self._inside = self._in_zone()

    # --- public state ----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.success or self.failure

    @property
    def cue(self) -> str | None:
        """Shape shown on screen (and paralysis) while the cue phase lasts."""
        return cue_shape(self.spec, self.target) if self._cue_on else None

    @property
    def heading(self) -> float:
        """Heading in radians, 0 = north, +pi/2 = east, wrapped to (-pi, pi]."""
        return float(np.deg2rad(wrap_degrees(self.yaw)))

    @property
    def cumulative_reward(self) -> float:
        return self.reward_milli / 1000.0

    # --- dynamics ----------------------------------------------------------------------------
    def act(self, action: int) -> None:
        """Apply one action instantly; discarded while the cue paralyses the agent."""
        if self._cue_on or self.done:
            return
        if action == TURN_RIGHT:
            self.yaw = wrap_degrees(self.yaw + TURN_DEGREES)
        elif action == TURN_LEFT:
            self.yaw = wrap_degrees(self.yaw - TURN_DEGREES)
        elif action == FORWARD:
            dx, dz = direction(self.yaw)
            self.x, self.z = self.collider.move(self.x, self.z, MOVE_DISTANCE * dx, MOVE_DISTANCE * dz)
            self._inside = self._in_zone()

    def advance(self, units: int) -> None:
        """Run Unity time forward by ``units`` (1/300 s), event by event, until it ends or the trial does."""
        end = self.time + units
        while not self.done:
            next_tick = (self.ticks + 1) * TICK_UNITS
            next_frame = (self.frames + 1) * FRAME_UNITS
            if next_tick <= next_frame:
                if next_tick > end:
                    break
                self.time = next_tick
                self._tick()
            else:
                if next_frame > end:
                    break
                self.time = next_frame
                self._frame()
        if not self.done:
            self.time = end

    def _tick(self) -> None:
        self.ticks += 1
        self.reward_milli -= TIME_PENALTY_MILLI
        spec = self.spec
        if spec.wait is not None and spec.wait.clock == "tick":
            self._count_zone()
        if self._cue_on and spec.cue.clock == "tick" and self.ticks >= spec.cue.n:
            self._cue_on = False
        if self.foods:
            self._touch_food()

    def _frame(self) -> None:
        self.frames += 1
        spec = self.spec
        if spec.wait is not None and spec.wait.clock == "frame":
            self._count_zone()
        if self._cue_on and spec.cue.clock == "frame" and self.frames >= spec.cue.n:
            self._cue_on = False
        if self.reward_count >= spec.success_count:
            self.success = True
        elif self.reward_milli < FAILURE_BELOW_MILLI:
            self.failure = True

    # --- rules -------------------------------------------------------------------------------
    def _target_interval(self) -> tuple[int, float, float] | None:
        """(axis 0 = x / 1 = z, lo, hi) of the zone whose wait earns the bonus, or None."""
        if self.spec.wait is None or self.target is None:
            return None
        if self.target == "wait":
            return (0, *ARROW_WAIT_X)
        return (1, *ZONES_Z[self.target])

    def _in_zone(self) -> bool:
        if self._zone is None:
            return False
        axis, lo, hi = self._zone
        return lo <= (self.x if axis == 0 else self.z) <= hi

    def _count_zone(self) -> None:
        """Count consecutive ticks/frames inside the zone; the bonus fires on count wait + 1."""
        if not self._inside:
            self._zone_count = 0
            return
        self._zone_count += 1
        if not self._bonus_given and self._zone_count > self.spec.wait.n:
            self._bonus_given = True
            self.reward_milli += BONUS_MILLI
            if self.spec.bonus_counts:
                self.reward_count += 1
            if self.spec.bonus_food is not None:
                self.foods.append(LiveFood(self.spec.bonus_food, self._next_food_index))
                self._next_food_index += 1

    def _touch_food(self) -> None:
        kept = []
        for live in self.foods:
            f = live.food
            if rect_distance(self.x, self.z, f.x - 0.5, f.x + 0.5, f.z - 0.5, f.z + 0.5) <= _REACH:
                self.reward_milli += FOOD_MILLI
                self.reward_count += 1
            else:
                kept.append(live)
        self.foods = kept
