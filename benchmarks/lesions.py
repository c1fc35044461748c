"""Lesion benchmark: how much each region of a trained brain matters, one region silenced at a time.

    python benchmarks/lesions.py RUN_DIR [RUN_DIR ...] [--tasks 1-3,1-4] [--episodes 100] [--greedy]
                                 [--seed 12345] [--envs 1] [--out FILE]

For every run directory (training seeds of one connectome), task and condition — the intact brain,
then each region silenced alone (``python -m brain.evaluate RUN --lesion REGION=silence``: its outputs
zero, every weight kept) — plays ``--episodes`` episodes, every condition from the same seed, so the
conditions meet the same trials. Regions lesioned in training are not lesioned again (the table
says which). One table per task:

* condition, successes / episodes pooled over the runs, the success rate with its Wilson 95 %
  interval, and the difference to the intact brain of the same runs with Newcombe's 95 % interval
  (the effect size, against its control);
* with several runs, each run's successes beside them. Pooling treats the runs' episodes as one
  sample, so its intervals leave out how much seeds differ; the per-run counts show that spread.

Written to ``FIRST_RUN_DIR/lesions.txt`` (or ``--out``), with the command that made it. Cost: 1 +
regions evaluations of ``--episodes`` episodes per run and task (wba: 9 x 100 episodes).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from analysis.proportions import difference_interval, wilson_interval
from brain.argtypes import name_list, number
from brain.errors import ConnectomeError
from brain.evaluate import evaluate, load_trained_brain
from brain.recording import RecordingError
from brain.training.rundir import RunDirError, read_config
from tasks import TASK_IDS

INTACT = "intact"


@dataclass(frozen=True)
class Outcome:
    """One run's episodes of one task under one condition (``intact`` or the silenced region)."""

    run: str
    task: str
    condition: str
    successes: int
    episodes: int


@dataclass(frozen=True)
class Plan:
    """What one run directory is evaluated under: the regions to silence, and those lesioned in training."""

    run_dir: Path
    regions: list[str]
    lesioned_in_training: dict[str, str | float]


def plan(run_dir: Path) -> Plan:
    """The run's regions to silence; loading its trained brain checks the directory before anything is played."""
    brain, _, _ = load_trained_brain(run_dir)
    lesioned = dict(brain.connectome.lesions)
    return Plan(run_dir, [name for name in brain.connectome.regions if name not in lesioned],
                {key: mode for key, mode in lesioned.items() if key in brain.connectome.regions})


def play(plan: Plan, tasks: list[str], episodes: int, greedy: bool, seed: int, envs: int) -> list[Outcome]:
    """Every condition of ``plan`` on every task: the intact brain first, then each region silenced."""
    outcomes = []
    for task in tasks:
        for condition in (INTACT, *plan.regions):
            lesions = None if condition == INTACT else {condition: "silence"}
            results = evaluate(plan.run_dir, task, episodes, greedy, seed, envs_at_once=envs, lesions=lesions)
            outcomes.append(Outcome(str(plan.run_dir), task, condition, sum(r.success for r in results), len(results)))
    return outcomes


def _pooled(outcomes: list[Outcome]) -> tuple[int, int]:
    return sum(outcome.successes for outcome in outcomes), sum(outcome.episodes for outcome in outcomes)


def table(outcomes: list[Outcome], task: str) -> str:
    """The task's conditions pooled over runs, each against the intact brain of the same runs."""
    mine = [outcome for outcome in outcomes if outcome.task == task]
    runs = list(dict.fromkeys(outcome.run for outcome in mine))
    intact = {outcome.run: outcome for outcome in mine if outcome.condition == INTACT}
    header = (f"{'condition':22} {'successes':>12} {'success [Wilson 95 %]':>24} {'vs intact [Newcombe 95 %]':>30}"
              + ("   per run" if len(runs) > 1 else ""))
    lines = [f"task {task}: {len(runs)} run(s)", header]
    for condition in dict.fromkeys(outcome.condition for outcome in mine):
        played = {outcome.run: outcome for outcome in mine if outcome.condition == condition}
        (successes, episodes), (base_successes, base_episodes) = (_pooled(list(played.values())),
                                                                  _pooled([intact[run] for run in played]))
        rate, (low, high) = successes / episodes, wilson_interval(successes, episodes)
        versus = "control"
        if condition != INTACT:
            below, above = difference_interval(successes, episodes, base_successes, base_episodes)
            versus = f"{rate - base_successes / base_episodes:+.0%} [{below:+.0%}, {above:+.0%}]"
        name = condition if condition == INTACT else f"{condition} silenced"
        per_run = "   " + " ".join(f"{played[run].successes}/{played[run].episodes}" if run in played else "-"
                                   for run in runs)
        lines.append(f"{name:22} {f'{successes}/{episodes}':>12} {f'{rate:.0%} [{low:.0%}, {high:.0%}]':>24} "
                     f"{versus:>30}" + (per_run if len(runs) > 1 else ""))
    return "\n".join(lines)


def report(plans: list[Plan], outcomes: list[Outcome], tasks: list[str], command: str) -> str:
    """The command, what was left out, and a table per task."""
    notes = [f"{p.run_dir}: lesioned in training, not lesioned again: "
             + ", ".join(f"{key}={mode}" for key, mode in p.lesioned_in_training.items())
             for p in plans if p.lesioned_in_training]
    return "\n\n".join([command, *notes, *(table(outcomes, task) for task in tasks)]) + "\n"


def task_list(text: str) -> list[str]:
    tasks = name_list(text)
    unknown = [task for task in tasks if task not in TASK_IDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown task {unknown[0]!r}; valid tasks: {', '.join(TASK_IDS)}")
    return tasks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python benchmarks/lesions.py", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="trained run directories, e.g. training seeds of one connectome (pooled and listed)")
    parser.add_argument("--tasks", type=task_list, default=None, metavar="T1,T2",
                        help="tasks to evaluate on (default: the task the first run trained on)")
    parser.add_argument("--episodes", type=number(int, 1), default=100, help="episodes per condition (default 100)")
    parser.add_argument("--greedy", action="store_true", help="take the most probable action instead of sampling")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the first reset, the same for every "
                                                                "condition (default 12345)")
    parser.add_argument("--envs", type=number(int, 1), default=1, metavar="N",
                        help="episodes played side by side with one batched brain step (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="results file (default FIRST_RUN_DIR/lesions.txt)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        plans = [plan(run_dir) for run_dir in args.run_dirs]
        tasks = args.tasks or [read_config(args.run_dirs[0]).task]
        outcomes = [outcome for p in plans for outcome in play(p, tasks, args.episodes, args.greedy, args.seed,
                                                               args.envs)]
    except (RunDirError, RecordingError, ConnectomeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = "python benchmarks/lesions.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = report(plans, outcomes, tasks, command)
    out = args.out or args.run_dirs[0] / "lesions.txt"
    out.write_text(text)
    print("\n" + text + f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
