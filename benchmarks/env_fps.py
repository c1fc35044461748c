"""Environment steps per second of the embedded simulator, per maze, on one core.

    python benchmarks/env_fps.py                 # 84x84 RGB + 32x32 depth, 4000 steps per cell
    python benchmarks/env_fps.py --steps 20000   # steadier figures
    taskset -c 1 python benchmarks/env_fps.py --repeat 5   # pinned to one core, best of 5 (shared machines)

Targets (issue): >= 2000 steps/s in the 1-D maze and >= 1000 in the Arrow maze, single env.

Random actions (seeded); a trial that ends is reset at once. Columns:
  single      one MazeEnv with rendering (the A3C worker's case)
  vector x8   gymnasium SyncVectorEnv of 8 envs: env steps/s (8 x vector steps/s)
  rules only  the same env with render_observations=False: physics + task rules + gym overhead
  rules us    microseconds per step of the rules-only run
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import gymnasium  # noqa: E402
import numpy as np  # noqa: E402

import tasks  # noqa: E402

MAZES = (("1-D", "1-3"), ("1-D grey", "1-8a"), ("Arrow", "2-1"), ("Cross", "3-1"))  # grey = colourless


def single_rate(task: str, steps: int, **kwargs) -> float:
    env = tasks.make(task, **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(3, size=steps)
    for a in actions[:200]:  # warm-up: kernels compiled/loaded, caches filled
        if env.step(int(a))[2]:
            env.reset()
    start = time.perf_counter()
    for a in actions:
        if env.step(int(a))[2]:
            env.reset()
    return steps / (time.perf_counter() - start)


def vector_rate(task: str, steps: int, n: int = 8, **kwargs) -> float:
    envs = gymnasium.vector.SyncVectorEnv([lambda: tasks.make(task, **kwargs) for _ in range(n)])
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        envs.step(rng.integers(3, size=n))
    rounds = max(steps // n, 1)
    start = time.perf_counter()
    for _ in range(rounds):
        envs.step(rng.integers(3, size=n))
    elapsed = time.perf_counter() - start
    envs.close()
    return rounds * n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000, help="env steps per measurement")
    parser.add_argument("--rgb-size", type=int, default=84)
    parser.add_argument("--depth-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each cell this many times and report the best (least disturbed) rate")
    args = parser.parse_args()
    if args.repeat < 1 or args.steps < 1:
        parser.error("--steps and --repeat must be positive")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    sizes = {"rgb_size": args.rgb_size, "depth_size": args.depth_size}
    print(f"env steps/s, one core, RGB {args.rgb_size}x{args.rgb_size} + depth {args.depth_size}x{args.depth_size}, "
          f"{args.steps} random steps per cell, best of {args.repeat}")
    print(f"{'maze':<10}{'task':<6}{'single':>10}{'vector x8':>12}{'rules only':>12}{'rules us':>10}")
    for maze, task in MAZES:
        single = max(single_rate(task, args.steps, **sizes) for _ in range(args.repeat))
        vector = max(vector_rate(task, args.steps, **sizes) for _ in range(args.repeat))
        rules = max(single_rate(task, args.steps, render_observations=False, **sizes) for _ in range(args.repeat))
        print(f"{maze:<10}{task:<6}{single:>10.0f}{vector:>12.0f}{rules:>12.0f}{1e6 / rules:>10.1f}")


if __name__ == "__main__":
    main()
