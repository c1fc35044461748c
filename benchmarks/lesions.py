"""Lesion benchmark: how much each region of a trained brain matters, one region silenced at a time.

    python benchmarks/lesions.py RUN_DIR [RUN_DIR ...] [--tasks 1-3,1-4] [--episodes 100] [--greedy]
                                 [--seed 12345] [--envs 1] [--probe] [--out FILE]

For every run directory (training seeds of one connectome), task and condition — the intact brain,
then each region silenced alone (``python -m brain.evaluate RUN --lesion REGION=silence``: its outputs
zero, every weight kept) — plays ``--episodes`` episodes, every condition from the same seed, so the
conditions meet the same trials. Regions lesioned in training are not lesioned again (the table
says which). One table per task (:mod:`analysis.lesions`):

* condition, successes / episodes pooled over the runs, the success rate with its Wilson 95 %
  interval, and the difference to the intact brain of the same runs with Newcombe's 95 % interval
  (the effect size, against its control);
* with several runs, each run's successes beside them. Pooling treats the runs' episodes as one
  sample, so its intervals leave out how much seeds differ; the per-run counts show that spread.

``--probe`` (with ``watermaze`` among the tasks) also plays ``--episodes`` water-maze probe trials
per condition (``brain.evaluate --probe``: the platform removed for 60 s) and tables the time share
of the platform's quadrant against chance and the intact brain, and the crossings of its site
against the other quadrants' sites, with bootstrap 95 % intervals over trials.

Written to ``FIRST_RUN_DIR/lesions.txt`` (or ``--out``), with the command that made it, and as
``lesions.json`` beside it (every count and probe trial, the command, the settings), which
``python -m analysis.ablation FIRST_RUN_DIR`` draws in its "Lesions at evaluation" section. Cost: 1
+ regions evaluations of ``--episodes`` episodes per run and task, twice for the water maze with
``--probe`` (wba: 9 x 100 episodes).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import networkx as nx

from analysis.lesions import (INTACT, RESULTS_FILE, Outcome, ProbeOutcome, Study, StudyRun, compare,
                              compare_probes, probe_table, success_table, write_study)
from analysis.report import text_table
from brain.argtypes import name_list, number
from brain.errors import ConnectomeError
from brain.evaluate import evaluate, load_trained_brain
from brain.recording import RecordingError
from brain.training.rundir import RunDirError, read_config
from tasks import TASK_IDS
from tasks.arena import ARENA_TASKS

#: Tasks with a platform that a probe trial removes: the water maze.
PROBE_TASKS = tuple(task for task, row in ARENA_TASKS.items() if row.platform is not None)
#: Tasks with a success to count: the 2017 mazes and the water maze.
SUCCESS_TASKS = (*TASK_IDS, *PROBE_TASKS)


@dataclass(frozen=True)
class Plan:
    """What one run directory is evaluated under: the regions to silence, and those lesioned in training."""

    run_dir: Path
    connectome: str
    regions: list[str]
    lesioned_in_training: dict[str, str | float]
    #: Regions with no connection path to the policy port: silencing them cannot change an action (a critic).
    off_policy: list[str]


def plan(run_dir: Path) -> Plan:
    """The run's regions to silence; loading its trained brain checks the directory before anything is played."""
    brain, _, _ = load_trained_brain(run_dir)
    connectome = brain.connectome
    lesioned = dict(connectome.lesions)
    acting = nx.ancestors(connectome.graph(), connectome.policy.region) | {connectome.policy.region}
    return Plan(run_dir, connectome.name, [name for name in connectome.regions if name not in lesioned],
                {key: mode for key, mode in lesioned.items() if key in connectome.regions},
                [name for name in connectome.regions if name not in acting])


@dataclass(frozen=True)
class Settings:
    """How every condition is played (the flags of the same names)."""

    episodes: int
    greedy: bool
    seed: int
    envs: int


def play(plan: Plan, tasks: list[str], settings: Settings) -> list[Outcome]:
    """Every condition of ``plan`` on every task: the intact brain first, then each region silenced."""
    outcomes = []
    for task in tasks:
        for condition in (INTACT, *plan.regions):
            results = _evaluate(plan, task, condition, settings, probe=False)
            outcomes.append(Outcome(str(plan.run_dir), task, condition, sum(r.success for r in results), len(results)))
    return outcomes


def play_probes(plan: Plan, task: str, settings: Settings) -> list[ProbeOutcome]:
    """Probe trials of ``task`` under every condition of ``plan``, the intact brain first."""
    probes = []
    for condition in (INTACT, *plan.regions):
        results = _evaluate(plan, task, condition, settings, probe=True)
        probes.append(ProbeOutcome(str(plan.run_dir), task, condition, tuple(r.probe.shares for r in results),
                                   tuple(r.probe.crossings for r in results)))
    return probes


def _evaluate(plan: Plan, task: str, condition: str, settings: Settings, probe: bool):
    lesions = None if condition == INTACT else {condition: "silence"}
    return evaluate(plan.run_dir, task, settings.episodes, settings.greedy, settings.seed,
                    envs_at_once=settings.envs, lesions=lesions, probe=probe)


def report(study: Study, plans: list[Plan]) -> str:
    """The command, what was left out or cannot act, and a table per task (and per probed task)."""
    off_policy = sorted({name for p in plans for name in p.off_policy})
    notes = [f"no connection path to the policy: {', '.join(off_policy)}; silencing them cannot change an action, "
             f"their rows check that they stay at the intact brain's"] if off_policy else []
    notes += [f"{run.run}: lesioned in training, not lesioned again: "
             + ", ".join(f"{key}={mode}" for key, mode in run.lesioned_in_training.items())
             for run in study.runs if run.lesioned_in_training]
    runs = len(study.runs)
    tables = [f"task {task}: {runs} run(s)\n" + text_table(*success_table(compare(study.outcomes, task)))
              for task in study.tasks()]
    tables += [f"task {task} probe trials (platform removed, 60 s): {runs} run(s)\n"
               + text_table(*probe_table(compare_probes(study.probes, task))) for task in study.probe_tasks()]
    return "\n\n".join([study.command, *notes, *tables]) + "\n"


def task_list(text: str) -> list[str]:
    tasks = name_list(text)
    unknown = [task for task in tasks if task not in SUCCESS_TASKS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown task {unknown[0]!r}; valid tasks: {', '.join(SUCCESS_TASKS)}")
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
    parser.add_argument("--probe", action="store_true",
                        help="the water maze: also play --episodes probe trials per condition (platform removed)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results file (default FIRST_RUN_DIR/lesions.txt); the counts go beside it as .json "
                             f"(the ablation page reads RUN_DIR/{RESULTS_FILE})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings(args.episodes, args.greedy, args.seed, args.envs)
    try:
        plans = [plan(run_dir) for run_dir in args.run_dirs]
        tasks = args.tasks or [read_config(args.run_dirs[0]).task]
        probed = [task for task in tasks if args.probe and task in PROBE_TASKS]
        if args.probe and not probed:
            raise ValueError(f"--probe: no task of {', '.join(tasks)} has a platform to remove; add "
                             f"{' or '.join(PROBE_TASKS)} to --tasks")
        outcomes = [outcome for p in plans for outcome in play(p, tasks, settings)]
        probes = [probe for p in plans for task in probed for probe in play_probes(p, task, settings)]
    except (RunDirError, RecordingError, ConnectomeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = "python benchmarks/lesions.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    study = Study(command, {**asdict(settings), "tasks": tasks, "probe": args.probe},
                  tuple(StudyRun(str(p.run_dir), p.connectome, p.lesioned_in_training) for p in plans),
                  tuple(outcomes), tuple(probes))
    out = args.out or args.run_dirs[0] / "lesions.txt"
    text = report(study, plans)
    out.write_text(text)
    data = write_study(study, out.with_suffix(".json"))
    print("\n" + text + f"\nwritten to {out} and {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
