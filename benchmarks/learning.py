"""Learning benchmark: episodes and steps to 80% success per task, beside the 2017 agent's table.

For each task a fresh run trains the connectome's brain with A3C until the success rate over the
last 100 episodes reaches 80% or the time budget runs out, then the episode table is read back.

    python benchmarks/learning.py --tasks 1-1,1-2,1-3,1-4,1-5 --minutes 60 --workers 2

Columns: episodes and environment steps when the 100-episode success rate first reached 80%
(``-`` if never), the final 100-episode success rate, wall-clock time and environment steps/s
over all workers, and the 2017 result (successes / episodes, LEGACY_AGENT.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from brain.config import TrainConfig
from brain.rundir import read_episodes
from brain.train import train

LEGACY_2017 = {"1-1": "69/69", "1-2": "69/69", "1-3": "49/146", "1-4": "53/167", "1-5": "102/192", "1-6": "65/151",
               "1-8a": "206/395", "1-8b": "81/167", "2-1": "only losses", "2-2": "still training", "3-1": "40/139",
               "3-2": "36/118"}
CRITERION, WINDOW = 0.8, 100


def steps_to_criterion(rows: list[dict[str, str]]) -> tuple[int | None, int | None, float]:
    """(episodes, global steps) when the 100-episode success rate first reached 80%, and the final rate."""
    successes = np.array([r["success"] == "True" for r in rows], dtype=float)
    reached = (None, None)
    for end in range(WINDOW, len(rows) + 1):
        if successes[end - WINDOW:end].mean() >= CRITERION:
            reached = (end, int(rows[end - 1]["global_step"]))
            break
    final = successes[-WINDOW:].mean() if len(rows) else 0.0
    return reached[0], reached[1], float(final)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="1-1,1-2,1-3,1-4,1-5")
    parser.add_argument("--minutes", type=float, default=60.0, help="time budget per task")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connectome", default="wba")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=f"runs/bench-learning-{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args()
    results = []
    for task in args.tasks.split(","):
        cfg = TrainConfig(connectome=args.connectome, task=task, workers=args.workers, steps=10**9, seed=args.seed,
                          out=str(Path(args.out) / task), until_success=CRITERION, max_minutes=args.minutes)
        started = time.time()
        run_dir = train(cfg)
        seconds = time.time() - started
        rows = read_episodes(run_dir)
        episodes, steps, final = steps_to_criterion(rows)
        total_steps = int(rows[-1]["global_step"]) if rows else 0
        results.append((task, episodes, steps, final, seconds, total_steps / max(seconds, 1e-9), len(rows)))
    table = [f"{'task':6} {'episodes to 80%':>16} {'steps to 80%':>13} {'final success':>14} {'episodes':>9} "
             f"{'wall time':>10} {'steps/s':>8}   2017 agent"]
    for task, episodes, steps, final, seconds, rate, n in results:
        table.append(f"{task:6} {episodes if episodes else '-':>16} {steps if steps else '-':>13} {final:>14.0%} "
                     f"{n:>9} {seconds / 60:>8.1f} m {rate:>8.0f}   {LEGACY_2017.get(task, '-')}")
    print("\n" + "\n".join(table))
    (Path(args.out) / "results.txt").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
