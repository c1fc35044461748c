"""Grid-cell benchmark: path-integration pre-training on several seeds, each against its untrained control.

    python benchmarks/grid_cells.py [--connectome wba_arena_grid] [--seeds 0,1,2] [--minutes 60]
                                    [--parallel 2] [--out DIR] [-- PRETRAIN_PATHS_FLAGS ...]

Runs ``python -m brain.pretrain_paths`` once per seed (one thread each, ``--parallel`` at once; flags
after ``--`` go to every run), each writing to ``DIR/seedS`` (its ``entorhinal.pt``, ``cells.json``,
``grid_over_training.csv`` and ``log.txt``; its page: ``python -m analysis.cells DIR/seedS``). Then one
row per seed: updates, the held-out place loss, the share of grid units of the trained region and of
the same region untrained (the control: the same initial weights, on the same held-out paths) by the
pooled 95th percentile of the shuffles and by each unit's own, the difference, and the grid units'
spacing; and the median [min, max] over seeds. Written to ``DIR/results.txt`` with the command.

For ``wba_arena_grid`` (Sorscher et al.'s conditions) train on the place loss alone at lr 1e-3:
``python benchmarks/grid_cells.py --minutes 60 -- --loss-weights head_direction=0 --lr 1e-3 --measure-minutes 10``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from analysis.pretraining import Pretraining, read_pretraining
from analysis.report import AnalysisError, text_table
from brain.argtypes import number


def train_seed(seed: int, args: argparse.Namespace, flags: list[str]) -> tuple[int, Pretraining | str]:
    """One pre-training in its own process; its output read back, or why there is none."""
    out = Path(args.out) / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "brain.pretrain_paths", "--connectome", args.connectome, "--seed", str(seed),
               "--minutes", str(args.minutes), "--threads", "1", "--out", str(out), *flags]
    with open(out / "log.txt", "w") as log:
        log.write(shlex.join(command) + "\n")
        log.flush()
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}).returncode
    if code:
        last = (out / "log.txt").read_text().strip().splitlines()[-1]
        return seed, f"exit code {code} ({last}); its log: {out / 'log.txt'}"
    try:
        return seed, read_pretraining(out)
    except AnalysisError as error:
        return seed, str(error)


def spread(values: list[float], fmt: str) -> str:
    """Median and, for several seeds, [min, max]."""
    text = format(float(np.median(values)), fmt)
    return text + (f" [{min(values):{fmt}}, {max(values):{fmt}}]" if len(values) > 1 else "")


def row(run: Pretraining) -> dict[str, float]:
    trained, untrained = (run.networks[name].report for name in ("trained", "untrained"))
    spacing = np.asarray(trained.spacing_m, float)
    return {"updates": run.updates, "minutes": run.training_seconds / 60,
            "place loss": trained.loss.get("place_cells", float("nan")),
            "untrained place loss": untrained.loss.get("place_cells", float("nan")),
            "grid % (pooled)": 100 * trained.share_pooled, "untrained % (pooled)": 100 * untrained.share_pooled,
            "difference (points)": 100 * (trained.share_pooled - untrained.share_pooled),
            "grid % (own)": 100 * trained.share_unit, "untrained % (own)": 100 * untrained.share_unit,
            "spacing m": float(np.nanmedian(spacing)) if np.isfinite(spacing).any() else float("nan")}


FORMATS = {"updates": ".0f", "minutes": ".1f", "place loss": ".3f", "untrained place loss": ".3f",
           "grid % (pooled)": ".1f", "untrained % (pooled)": ".1f", "difference (points)": "+.1f",
           "grid % (own)": ".1f", "untrained % (own)": ".1f", "spacing m": ".2f"}


def table(results: dict[int, Pretraining | str]) -> str:
    """A row per seed and the median [min, max] over those that finished; a failed seed says why."""
    rows = {seed: row(run) for seed, run in results.items() if isinstance(run, Pretraining)}
    lines = [[f"seed {seed}", *(format(values[key], fmt) for key, fmt in FORMATS.items())]
             for seed, values in rows.items()]
    if len(rows) > 1:
        lines.append([f"median [min, max] of {len(rows)}",
                      *(spread([values[key] for values in rows.values()], fmt) for key, fmt in FORMATS.items())])
    failed = [f"seed {seed}: {why}" for seed, why in results.items() if isinstance(why, str)]
    return text_table(["", *FORMATS], lines) + "".join(f"\n{line}" for line in failed)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, flags = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectome", default="wba_arena_grid")
    parser.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated: one pre-training each")
    parser.add_argument("--minutes", type=number(float, 0, low_inclusive=False), default=60.0,
                        help="training time of each pre-training")
    parser.add_argument("--parallel", type=number(int, 1), default=2, help="pre-trainings at once (one core each)")
    parser.add_argument("--out", default=f"runs/bench-grid-{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args(ours)
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if len(set(seeds)) != len(seeds):  # two runs of one seed would write into the same directory at once
        parser.error(f"--seeds: each seed once, got {args.seeds!r}")
    command = shlex.join(["python", "benchmarks/grid_cells.py", *argv])
    with ThreadPoolExecutor(args.parallel) as pool:
        results = dict(pool.map(lambda seed: train_seed(seed, args, flags), seeds))
    text = (f"{command}\n\n{args.connectome}, {args.minutes:g} minutes per seed, one thread each, "
            f"{args.parallel} at once; grid units: gridness above the 95th percentile of the shuffles "
            f"(pooled over units, or each unit's own); untrained: the same initial weights, the same held-out paths\n\n"
            f"{table(results)}\n")
    Path(args.out, "results.txt").write_text(text)
    print("\n" + text)
    return 0 if all(isinstance(run, Pretraining) for run in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
