"""Curriculum benchmark: the 16 tasks in the 2017 order in one run, then the trained brain on each (forgetting).

    python benchmarks/curriculum.py [--minutes 240] [--seed 0] [--workers 2] [--rehearsal 0.25]
                                    [--out runs/bench-curriculum]
    python benchmarks/curriculum.py --evaluate RUN_DIR      (only the second part, for a finished or stopped run)

The run is ``python -m brain.run --curriculum`` with the default configuration (the run moves on when
the 2017 rule holds over its pooled trials, docs/training.md "Curriculum"), stopped when every task is
complete or after ``--minutes``; ``--rehearsal F`` gives that share of the episodes to tasks the run
already completed (``python -m brain.run --rehearsal``). Then the final brain plays ``--episodes`` episodes of every task the
run completed (``brain.evaluate``, sampling, the same seed for each), so a task learned early and
forgotten later shows as a low success at the end. One row per task: episodes the rule counted,
environment steps and training minutes spent on the task (from the previous completion to this
one), and the final success with its Wilson 95 % interval. Written to ``RUN_DIR/curriculum-results.txt``
with the command that made it.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

from analysis.proportions import wilson_interval
from brain.argtypes import number
from brain.evaluate import evaluate
from brain.training.config import TrainConfig
from brain.training.curriculum import COMPLETIONS_FILE, ORDER, Completion
from brain.training.rundir import RunDirError, read_config
from brain.training.train import train


def completions(run_dir: Path) -> list[Completion]:
    """The rows of the run's ``curriculum.csv`` (none if it completed no task)."""
    path = run_dir / COMPLETIONS_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [Completion(row["task"], int(row["episodes"]), int(row["steps"]), float(row["minutes"]))
                for row in csv.DictReader(handle)]


def results(run_dir: Path, episodes: int, seed: int, envs: int) -> str:
    """A row per completed task: what completing it cost, and how well the final brain still does it."""
    done = completions(run_dir)
    lines = [f"{len(done)} of {len(ORDER)} tasks complete in {run_dir}"
             + (f" (next: {ORDER[len(done)]})" if len(done) < len(ORDER) else ""),
             f"{'task':6} {'episodes':>9} {'steps on task':>14} {'minutes on task':>16} {'minutes total':>14} "
             f"{'final brain: success [Wilson 95 %]':>36}"]
    steps_before, minutes_before = 0, 0.0
    for completion in done:
        played = evaluate(run_dir, completion.task, episodes, greedy=False, seed=seed, envs_at_once=envs)
        wins = sum(result.success for result in played)
        low, high = wilson_interval(wins, len(played))
        final = f"{wins}/{len(played)} = {wins / len(played):.0%} [{low:.0%}, {high:.0%}]"
        lines.append(f"{completion.task:6} {completion.episodes:>9} {completion.steps - steps_before:>14,} "
                     f"{completion.minutes - minutes_before:>16.1f} {completion.minutes:>14.1f} {final:>36}")
        steps_before, minutes_before = completion.steps, completion.minutes
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python benchmarks/curriculum.py", description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", type=Path, default=None, metavar="RUN_DIR",
                        help="evaluate this curriculum run instead of training a new one")
    parser.add_argument("--minutes", type=number(float, 0.1), default=240.0, help="training time budget (default 240)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--workers", type=number(int, 1), default=2, help="A3C workers (default 2)")
    parser.add_argument("--rehearsal", type=number(float, 0, 0.9), default=0.0, metavar="F",
                        help="share of episodes that rehearse completed tasks (default 0)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-curriculum"), help="the run directory")
    parser.add_argument("--episodes", type=number(int, 1), default=100, help="evaluation episodes per task")
    parser.add_argument("--envs", type=number(int, 1), default=16, metavar="N",
                        help="evaluation episodes played side by side (default 16)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = args.evaluate
    if run_dir is None:
        run_dir = train(TrainConfig(curriculum=True, seed=args.seed, workers=args.workers, out=str(args.out),
                                    steps=10**12, max_minutes=args.minutes, rehearsal=args.rehearsal))
    command = shlex.join(["python", "benchmarks/curriculum.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        read_config(run_dir)  # a directory that holds no run says so here
        text = f"{command}\n\n{results(run_dir, args.episodes, args.seed, args.envs)}\n"
    except RunDirError as error:
        print(f"--evaluate: {error}", file=sys.stderr)
        return 2
    print("\n" + text)
    (run_dir / "curriculum-results.txt").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
