"""Learning benchmark: minutes and steps to 80% success per task, beside the 2017 agent's table.

For each task a fresh run trains the connectome's brain with A3C until the success rate over the
last 100 episodes reaches 80% or the time budget runs out, then the episode table is read back.

    python benchmarks/learning.py --tasks 1-1,1-2,1-3,1-4,1-5 --minutes 60 --workers 2 [--envs 1,16]
                                  [--seeds 0,1,2] [--parallel 1] [--connectome wba]
                                  [--init-region entorhinal=runs/paths/entorhinal.pt]

Every task runs once per ``--envs-per-worker`` value in ``--envs`` and per seed in ``--seeds``, task by
task (the runs of one task one after the other, so that they meet the same machine speed); one table
per value. Run again with the same ``--out``, it reads back the runs it finished (``result.json``) that reached
80% or had at least this budget and trains only the others: a stopped benchmark goes on where it stopped. ``--parallel K`` runs K trainings at once (each with its ``--workers``): for machines with
at least K x workers cores; on 2 cores keep 1, or the runs slow each other down. ``--init-region
REGION=FILE`` (repeatable) starts every run's region from a pre-trained one (``brain.run --init-region``;
docs/training.md, "Pre-trained regions"): the same command with and without it measures what the
pre-training is worth. The tables name the connectome and the pre-trained regions, and a ``--out``
whose runs were trained with others is refused (give each condition its own).

Columns (median over seeds, with the range in brackets when there are several): minutes and
environment steps until the 100-episode success rate first reached 80% (``-`` if never; a run that
never did counts as beyond the others in the median), how many seeds reached it, the final 100-episode
success rate, environment steps/s over all workers, and the 2017 result (successes / episodes,
LEGACY_AGENT.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from brain.errors import ConnectomeError
from brain.training.config import DEFAULT_ENVS_PER_WORKER, TrainConfig, init_item
from brain.training.rundir import RunDirError, read_episodes
from brain.training.train import train

LEGACY_2017 = {"1-1": "69/69", "1-2": "69/69", "1-3": "49/146", "1-4": "53/167", "1-5": "102/192", "1-6": "65/151",
               "1-8a": "206/395", "1-8b": "81/167", "2-1": "only losses", "2-2": "still training", "3-1": "40/139",
               "3-2": "36/118"}
CRITERION, WINDOW = 0.8, 100


@dataclass(frozen=True)
class Result:
    """One training run's outcome."""

    task: str
    envs: int
    seed: int
    minutes: float | None  # to the criterion, None if never reached
    steps: int | None
    final: float
    rate: float  # environment steps/s over the whole run


def reached_criterion(rows: list[dict[str, str]]) -> tuple[int | None, float]:
    """Index of the episode at which the 100-episode success rate first reached 80% (or None), and the final rate."""
    successes = np.array([r["success"] == "True" for r in rows], dtype=float)
    for end in range(WINDOW, len(rows) + 1):
        if successes[end - WINDOW:end].mean() >= CRITERION:
            return end - 1, float(successes[-WINDOW:].mean())
    return None, float(successes[-WINDOW:].mean()) if len(rows) else 0.0


def run_one(connectome: str, task: str, workers: int, envs: int, seed: int, minutes: float, out: Path,
            init_regions: dict[str, str]) -> Result:
    """Train one fresh run until 80% or the budget, and read its outcome from its episode table; a run this
    benchmark already finished in ``out`` (its ``result.json``) is read back instead when it reached 80% or had at
    least this budget, so that a stopped benchmark goes on where it stopped."""
    done = finished_run(out, minutes)
    if done is not None:
        return done
    if out.exists():  # a run the benchmark did not finish: a resumed run would not time from its start
        print(f"{out}: not finished by this benchmark, training it anew")
        shutil.rmtree(out)
    result = train_one(connectome, task, workers, envs, seed, minutes, out, init_regions)
    (out / RESULT).write_text(json.dumps(asdict(result) | {"budget_minutes": minutes, "connectome": connectome,
                                                           "init_regions": init_regions}))
    return result


RESULT = "result.json"
#: What ``result.json`` holds beside the :class:`Result`: the budget and what the brain was (older files lack the last).
RUN_KEYS = ("budget_minutes", "connectome", "init_regions")


def finished_run(out: Path, minutes: float) -> Result | None:
    """The outcome of an earlier run in ``out`` that this budget would not change, else None (it is trained anew)."""
    if not (out / RESULT).is_file():
        return None
    saved = json.loads((out / RESULT).read_text())
    budget = saved["budget_minutes"]
    result = Result(**{key: value for key, value in saved.items() if key not in RUN_KEYS})
    return result if result.minutes is not None or budget >= minutes else None


def other_brain(out: Path, connectome: str, init_regions: dict[str, str]) -> str | None:
    """How the run in ``out`` was trained, where that is not the brain asked for now (else None): its results
    would be read back, or it would be trained anew, as if it were this condition's."""
    if not (out / RESULT).is_file():
        return None
    saved = json.loads((out / RESULT).read_text())
    asked = {"connectome": connectome, "init_regions": init_regions}
    differ = [f"{key} {saved[key]}" for key in asked if key in saved and saved[key] != asked[key]]
    return f"{out} was trained with {', '.join(differ)}" if differ else None


def train_one(connectome: str, task: str, workers: int, envs: int, seed: int, minutes: float, out: Path,
              init_regions: dict[str, str]) -> Result:
    """Train one fresh run until 80% or the budget, and read its outcome from its episode table."""
    cfg = TrainConfig(connectome=connectome, task=task, workers=workers, envs_per_worker=envs, steps=10**9, seed=seed,
                      out=str(out), until_success=CRITERION, max_minutes=minutes, init_regions=init_regions)
    started = time.time()
    run_dir = train(cfg)
    seconds = time.time() - started
    rows = read_episodes(run_dir)
    index, final = reached_criterion(rows)
    total_steps = int(rows[-1]["global_step"]) if rows else 0
    at = None if index is None else rows[index]
    return Result(task, envs, seed, None if at is None else (float(at["time"]) - started) / 60,
                  None if at is None else int(at["global_step"]), final, total_steps / max(seconds, 1e-9))


def spread(values: list[float | None], fmt: str) -> str:
    """Median and, for several runs, [min, max]; a run that never reached the criterion (None) counts as
    beyond all others and shows as ``-``."""
    numbers = [np.inf if value is None else float(value) for value in values]
    show = lambda value: "-" if not np.isfinite(value) else format(round(value) if fmt == "d" else value, fmt)
    text = show(float(np.median(numbers)))
    return text + (f" [{show(min(numbers))}, {show(max(numbers))}]" if len(numbers) > 1 else "")


def brain_of(connectome: str, init_regions: dict[str, str]) -> str:
    """``"wba, entorhinal from runs/paths/entorhinal.pt"``: the brain every run of a table starts as."""
    starts = ", ".join(f"{region} from {file}" for region, file in init_regions.items())
    return f"{connectome}, " + (starts or "no pre-trained region")


def table(envs: int, results: list[Result], workers: int, brain: str) -> str:
    """One ``--envs-per-worker`` value's results, a row per task; ``brain``: :func:`brain_of`."""
    lines = [f"--envs-per-worker {envs}, {workers} workers, {brain}",
             f"{'task':6} {'minutes to 80%':>20} {'steps to 80%':>26} {'reached':>8} {'final success':>14} "
             f"{'steps/s':>8}   2017 agent"]
    for task in dict.fromkeys(result.task for result in results):
        runs = [result for result in results if result.task == task]
        reached = sum(result.minutes is not None for result in runs)
        lines.append(f"{task:6} {spread([r.minutes for r in runs], '.1f'):>20} {spread([r.steps for r in runs], 'd'):>26} "
                     f"{reached:>4}/{len(runs):<3} {spread([r.final for r in runs], '.0%'):>14} "
                     f"{np.median([r.rate for r in runs]):>8.0f}   {LEGACY_2017.get(task, '-')}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="1-1,1-2,1-3,1-4,1-5")
    parser.add_argument("--minutes", type=float, default=60.0, help="time budget per run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs", default=str(DEFAULT_ENVS_PER_WORKER["embedded"]),
                        help="--envs-per-worker values, comma-separated (default: the trainer's default)")
    parser.add_argument("--seeds", default="0", help="seeds, comma-separated: one run per seed")
    parser.add_argument("--parallel", type=int, default=1, help="trainings at once (needs parallel x workers cores)")
    parser.add_argument("--connectome", default="wba")
    parser.add_argument("--init-region", dest="init_regions", action="append", type=init_item, default=[],
                        metavar="REGION=FILE", help="start every run's REGION from a pre-trained one (repeatable)")
    parser.add_argument("--out", default=f"runs/bench-learning-{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args()
    sizes = [int(size) for size in args.envs.split(",")]
    seeds = [int(seed) for seed in args.seeds.split(",")]
    init_regions = dict(args.init_regions)
    jobs = [(args.connectome, task, args.workers, size, seed, args.minutes,
             Path(args.out) / f"{task}-envs{size}-seed{seed}", init_regions)
            for task in args.tasks.split(",") for size in sizes for seed in seeds]
    for job in jobs:
        conflict = other_brain(job[6], args.connectome, init_regions)
        if conflict:
            parser.error(f"--out {args.out}: {conflict}; give this condition its own --out")
    command = "python benchmarks/learning.py " + " ".join(
        f"--{name} {value}" for name, value in (("tasks", args.tasks), ("minutes", args.minutes),
                                                ("workers", args.workers), ("envs", args.envs), ("seeds", args.seeds),
                                                ("connectome", args.connectome),
                                                *(("init-region", f"{region}={file}")
                                                  for region, file in init_regions.items())))
    brain = brain_of(args.connectome, init_regions)
    results: list[Result] = []
    try:
        with ProcessPoolExecutor(args.parallel, mp_context=get_context("spawn")) if args.parallel > 1 \
                else nullcontext() as pool:
            for result in pool.map(run_one, *zip(*jobs)) if pool else (run_one(*job) for job in jobs):
                results.append(result)  # the table so far after every run: a stopped benchmark keeps what it measured
                text = write_results(Path(args.out), command, sizes, results, args.workers, len(jobs), brain)
    except (ConnectomeError, RunDirError) as error:  # a bad connectome or --init-region: before the first run trains
        parser.exit(2, f"error: {error}\n")
    print("\n" + text)


def write_results(out: Path, command: str, sizes: list[int], results: list[Result], workers: int, planned: int,
                  brain: str) -> str:
    """``results.txt``: the command and one table per ``--envs-per-worker`` value, with how many runs are done."""
    tables = [table(size, [r for r in results if r.envs == size], workers, brain) for size in sizes]
    done = "" if len(results) == planned else f"({len(results)} of {planned} runs done)\n\n"
    text = command + "\n\n" + done + "\n\n".join(tables) + "\n"
    (out / "results.txt").write_text(text)
    return text


if __name__ == "__main__":
    main()
