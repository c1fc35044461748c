"""The hand-made reference solutions of the 2017 ``Automator`` (SPEC 2.3, 3.2, 4.2) as action lists.

Unity replayed these strings one character per frame; here they are one action per step.
``"3"`` (wait) becomes the no-op action when the environment has ``noop_action=True``, or else
alternating right/left turns, which also leave the agent in place (turning counts as staying).
The cue tasks (1-7, 1-8d) discard actions while the cue is shown: ``run_reference`` sends
no-ops (or turn pairs) until it disappears, then the solution of the cued colour.

Example:
    >>> import tasks
    >>> from tasks.reference import run_reference
    >>> info = run_reference(tasks.make("1-3", noop_action=True, render_observations=False), seed=0)
    >>> info["success"]
    True
"""

from __future__ import annotations

from typing import Any

from tasks.trial import FORWARD, NOOP, TURN_LEFT, TURN_RIGHT

WAIT = -1  # placeholder for "3" until the wait action is known
_ZONE_SOLUTIONS = {  # 1-D: walk to the zone, wait, walk to the food: (forward before, forward after)
    "green": (7, 4),
    "red": (10, 1),
    "blue": (4, 7),
}
_ZONE_WAITS = {"1-8d": 120}  # the automation's "3"s; 130 in every other zone task
_FIXED_SOLUTIONS = {
    "1-1": ((11, FORWARD),),
    "1-2": ((11, FORWARD),),
    "2-1": ((11, TURN_RIGHT), (8, FORWARD), (130, WAIT), (4, TURN_LEFT), (8, FORWARD)),
    "2-2": ((5, FORWARD), (9, TURN_RIGHT), (5, FORWARD), (130, WAIT), (4, FORWARD), (9, TURN_RIGHT), (5, FORWARD)),
    "2-3": ((9, TURN_RIGHT), (5, FORWARD), (130, WAIT), (4, FORWARD), (9, TURN_RIGHT)),
}
_CROSS_1 = {  # 3-1 by start yaw: south, east, west end
    0: ((11, FORWARD),),
    -90: ((6, FORWARD), (9, TURN_RIGHT), (5, FORWARD)),
    90: ((6, FORWARD), (9, TURN_LEFT), (5, FORWARD)),
}
_CROSS_2_TO_WEST = {0: ((9, TURN_LEFT),), -90: (), 90: ((18, TURN_LEFT),), 180: ((9, TURN_RIGHT),)}
_CROSS_2_TOUR = ((6, FORWARD), (18, TURN_RIGHT), (6, FORWARD), (9, TURN_LEFT), (6, FORWARD),
                 (18, TURN_RIGHT), (6, FORWARD), (9, TURN_LEFT), (6, FORWARD))  # west, north, east


def _expand(parts, noop_action: bool) -> list[int]:
    out: list[int] = []
    for n, action in parts:
        if action != WAIT:
            out += [action] * n
        elif noop_action:
            out += [NOOP] * n
        else:
            out += [TURN_RIGHT, TURN_LEFT] * (n // 2) + [TURN_RIGHT] * (n % 2)
    return out


def reference_actions(task: str, target: str | None = None, start_yaw: int = 0,
                      noop_action: bool = True) -> list[int]:
    """The automation's solution of ``task`` for a trial with this target colour / start yaw."""
    if task in _FIXED_SOLUTIONS:
        parts = _FIXED_SOLUTIONS[task]
    elif task == "3-1":
        parts = _CROSS_1[start_yaw]
    elif task == "3-2":
        parts = _CROSS_2_TO_WEST[start_yaw] + _CROSS_2_TOUR
    elif target in _ZONE_SOLUTIONS:
        before, after = _ZONE_SOLUTIONS[target]
        parts = ((before, FORWARD), (_ZONE_WAITS.get(task, 130), WAIT), (after, FORWARD))
    else:
        raise ValueError(f"no reference solution for task {task!r} with target {target!r}")
    return _expand(parts, noop_action)


def run_reference(env: Any, seed: int | None = None, actions: list[int] | None = None,
                  options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play one trial of ``env`` (a ``MazeEnv``) with the reference solution; returns the last info.

    ``actions`` replaces the solution (e.g. a deliberately wrong one); the trial is then played
    on with waiting actions until it ends, so a wrong solution ends in failure. ``options`` go
    to ``reset`` (e.g. ``{"history": "SF"}`` for 1-1's start or 1-6's target).
    """
    noop = env.unwrapped.noop_action
    obs, info = env.reset(seed=seed, options=options)
    waits = _expand(((1, WAIT),), noop)[0], _expand(((2, WAIT),), noop)[1]
    k = 0
    while info["cue"] is not None:  # paralysed: actions would be discarded
        obs, reward, terminated, truncated, info = env.step(waits[k % 2])
        k += 1
    if actions is None:
        trial = env.unwrapped.trial
        actions = reference_actions(info["task"], trial.target, trial.yaw, noop)
    terminated = False
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        if terminated:
            return info
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(waits[k % 2])
        k += 1
    return info
