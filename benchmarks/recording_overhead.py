"""Cost of recording: training throughput with recording off, every 10th episode and every episode.

    python benchmarks/recording_overhead.py                          # full wba brain, 2 workers, ~15 min
    python benchmarks/recording_overhead.py --steps 20000 --repeats 3 --float16

Each repeat trains three fresh runs of the same seed, one per mode, in rotation (so that load
from other processes spreads over all modes alike): ``--record-every 0``, ``10`` and ``1``.
Throughput is the steady-state rate, read from the run's ``episodes.csv`` (global steps over
wall-clock time between the first episode after ``--warmup`` steps and the last episode), so
that starting and stopping the processes is not counted. Overhead is ``1 - rate / rate(off)``
of the medians over repeats; the targets are at most 5 % (every 10th) and 25 % (every episode).

The file size per 1,000 recorded steps is read from the every-episode run's ``recording.h5``
(total size over the steps its index holds), for the storage chosen with ``--float16`` and
``--compression``. Measure on a quiet machine: the rates are only comparable when nothing else
competes for the cores.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from brain.recording import COMPRESSIONS, open_run
from brain.training.config import TrainConfig
from brain.training.rundir import read_episodes
from brain.training.train import train

MODES = {"off": 0, "every 10th": 10, "every episode": 1}
TARGETS = {"every 10th": 5.0, "every episode": 25.0}  # overhead (%) each mode should stay under


def steady_rate(run_dir: Path, warmup: int) -> float:
    """Environment steps per second between the first episode past ``warmup`` steps and the last one."""
    rows = [(float(row["time"]), int(row["global_step"])) for row in read_episodes(run_dir)]
    rows = [row for row in rows if row[1] >= warmup]
    if len(rows) < 2 or rows[-1][0] <= rows[0][0]:
        raise SystemExit(f"{run_dir}: too few episodes after {warmup} steps to measure a rate; raise --steps")
    return (rows[-1][1] - rows[0][1]) / (rows[-1][0] - rows[0][0])


def megabytes_per_1000_steps(run_dir: Path) -> float:
    path = run_dir / "recording.h5"
    with open_run(path) as rec:
        steps = int(rec.index["length"].sum())
    return path.stat().st_size / max(steps, 1) * 1000 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connectome", default="wba")
    parser.add_argument("--task", default="1-3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30_000, help="environment steps per run")
    parser.add_argument("--warmup", type=int, default=2_000, help="steps left out of the rate")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode, in rotation")
    parser.add_argument("--float16", action="store_true", help="record activity as float16")
    parser.add_argument("--compression", choices=COMPRESSIONS, default=TrainConfig.record_compression)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=f"runs/bench-recording-{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    sizes: list[float] = []
    for repeat in range(args.repeats):
        for mode, every in MODES.items():
            run_dir = Path(args.out) / f"{mode.replace(' ', '-')}-{repeat}"
            cfg = TrainConfig(connectome=args.connectome, task=args.task, workers=args.workers, steps=args.steps,
                              seed=args.seed, out=str(run_dir), checkpoint_every=10**9, record_every=every,
                              record_float16=args.float16, record_compression=args.compression)
            train(cfg)
            rates[mode].append(steady_rate(run_dir, args.warmup))
            if every == 1:
                sizes.append(megabytes_per_1000_steps(run_dir))
    off = statistics.median(rates["off"])
    lines = [f"{args.connectome}, task {args.task}, {args.workers} workers, {args.steps} steps x {args.repeats} "
             f"repeats; recording {'float16' if args.float16 else 'float32'}, {args.compression}", "",
             f"{'mode':15s} {'steps/s':>9s} {'overhead':>9s}  target"]
    for mode in MODES:
        rate = statistics.median(rates[mode])
        overhead = 100 * (1 - rate / off)
        target = TARGETS.get(mode)
        verdict = "" if target is None else f"<= {target:.0f} %: {'met' if overhead <= target else 'NOT met'}"
        lines.append(f"{mode:15s} {rate:9.1f} {overhead:8.1f}%  {verdict}")
    lines += ["", f"recording.h5: {statistics.median(sizes):.2f} MB per 1,000 recorded steps"]
    report = "\n".join(lines)
    print("\n" + report)
    (Path(args.out) / "results.txt").write_text(report + "\n")


if __name__ == "__main__":
    main()
