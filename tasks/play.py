"""Watch a task: play it with the reference solution, an action string or the keyboard, saving PNGs.

    python -m tasks.play 1-3                        # the 2017 reference solution
    python -m tasks.play 2-2 --actions 2222200000   # 0 right, 1 left, 2 forward, 3 wait
    python -m tasks.play 3-1 --keys                 # type w/a/d/s (+ Enter); q quits
    python -m tasks.play watermaze --steps 300      # the open arena: a random-foraging path (tasks.foraging)
    python -m tasks.play openfield --actions 2222002222   # or its small steps: 15 deg turns, 0.1 m moves

Each saved image shows the first-person view beside the top-down map with the path
(``MazeEnv.render()``); files go to ``--out`` (default ``runs/play/<task>/``, beside the training runs and
ignored by git like them) as ``step_0000.png``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import tasks
from tasks.foraging import forage
from tasks.png import write_png
from tasks.reference import reference_actions
from tasks.trial import FORWARD, NOOP, TURN_LEFT, TURN_RIGHT

#: Where frames go without ``--out``: a named folder under ``runs/``, never the current directory itself.
PLAY_FOLDER = Path("runs", "play")
KEYS = {"w": FORWARD, "a": TURN_LEFT, "d": TURN_RIGHT, "s": NOOP}


def keyboard() -> Iterator[int]:
    """Actions typed on stdin, a line at a time (each character is one action)."""
    print("keys: w forward, a left, d right, s wait, q quit")
    for line in sys.stdin:
        for ch in line.strip().lower():
            if ch == "q":
                return
            if ch in KEYS:
                yield KEYS[ch]


def reference(env: tasks.MazeEnv) -> Iterator[int]:
    """The reference solution of the current trial, after waiting out a cue (actions are void then)."""
    while env.trial.cue is not None:
        yield NOOP
    yield from reference_actions(env.task, env.trial.target, env.trial.yaw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", help=f"task id: {', '.join((*tasks.TASK_IDS, *tasks.ARENA_IDS))}")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--actions", help="action string, e.g. 2222333; default: the reference solution (the "
                                          "arena: a random-foraging path)")
    source.add_argument("--keys", action="store_true", help="read actions from the keyboard")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--version", default="dec2017", choices=("dec2017", "sep2017"))
    parser.add_argument("--every", type=int, default=1, help="save every k-th step (and the last)")
    parser.add_argument("--steps", type=int, default=200, help="the arena: steps of the foraging path")
    parser.add_argument("--out", type=Path, help=f"output folder (default {PLAY_FOLDER}/<task>)")
    args = parser.parse_args(argv)

    arena = args.task in tasks.ARENA_IDS
    if args.task not in tasks.TASK_IDS and not arena:
        parser.error(f"unknown task {args.task!r}; valid task ids: {', '.join((*tasks.TASK_IDS, *tasks.ARENA_IDS))}")
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    foraging = arena and not args.keys and args.actions is None
    if arena:
        env = tasks.make(args.task, render_mode="rgb_array",
                         **({"kinematics": "continuous"} if foraging else {"noop_action": True}))
    else:
        env = tasks.make(args.task, noop_action=True, version=args.version, render_mode="rgb_array")
    out = args.out or PLAY_FOLDER / args.task
    out.mkdir(parents=True, exist_ok=True)
    _, info = env.reset(seed=args.seed)
    if foraging:
        actions = iter(forage(args.steps, seed=args.seed, start=info["pose"][None].astype(float)).odometry[0])
    elif args.keys:
        actions: Iterator[int] = keyboard()
    elif args.actions is not None:
        if set(args.actions) - set("0123"):
            parser.error(f"--actions may hold only 0, 1, 2, 3; got {args.actions!r}")
        actions = iter(int(c) for c in args.actions)
    else:
        actions = reference(env)
    write_png(out / "step_0000.png", env.render())
    step, ended = 0, False
    for step, action in enumerate(actions, start=1):
        _, reward, terminated, truncated, info = env.step(action)
        ended = terminated or truncated
        if step % args.every == 0 or ended:
            write_png(out / f"step_{step:04d}.png", env.render())
        if ended or args.keys:
            shown = np.round(action, 2).tolist() if foraging else action
            print(f"step {step}: action {shown}, reward {reward:+.3f}, pose {info['pose'].round(2).tolist()}, "
                  f"zone {info['zone']}, total {info['cumulative_reward']:+.3f}")
        if ended:
            break
    outcome = "success" if info["success"] else "failure" if info["failure"] else "unfinished"
    print(f"{args.task}: {outcome} after {step} steps, {info['ticks']} ticks; images in {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
