"""A3C training throughput: environment steps/s of the whole trainer per batch size, and where the time goes.

    python benchmarks/training_throughput.py [--connectome wba] [--task 1-3] [--workers 2] [--envs 1,4,8,16]
                                             [--seconds 45] [--rollouts 40]

Part 1 runs the real trainer (worker processes, shared weights and memory, logging) into a
temporary run directory once per ``--envs-per-worker`` value in ``--envs``, one after the other in
this one run (the machine's speed drifts between runs), and reports each steady-state rate:
steps counted between the first and the last progress reading, so process start-up is left out.
Part 2 runs one worker per value in this process on one thread and times each phase of its
rollouts per environment step: acting (``Brain.step`` and the simulator), the training pass
(``Brain.rollout`` forward, then loss, backward and clipping), the shared RMSProp step, the weight
copy and the memory write. Part 3 runs ``--workers`` such workers of the fastest value at once in
separate processes that share nothing (each its own weights, optimizer and memory): their summed
rate is what the machine gives that much per-step work, the ceiling of any trainer.
Target of the batched-acting issue: >= 1,000 steps/s in total for the full wba brain with 2 workers,
and >= 3x the rate of one environment per worker measured in the same run.
"""

from __future__ import annotations

import argparse
import queue
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import torch
import torch.multiprocessing as mp

from brain.engine import Brain
from brain.training import a3c
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop
from brain.training.train import prepare_run_dir
from brain.training.trainer import Trainer


def trainer_rate(cfg: TrainConfig, seconds: float) -> float:
    """Steady-state environment steps/s of the full trainer over ``seconds`` after its workers started."""
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    trainer = Trainer(cfg, run_dir, run_dir / "connectome.yaml")
    readings: list[tuple[float, int]] = []

    def sample() -> None:
        while trainer.steps() == 0:
            time.sleep(0.1)
        deadline = time.time() + seconds
        while time.time() < deadline:
            readings.append((time.time(), trainer.steps()))
            time.sleep(0.5)
        trainer.backend.request_stop()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    trainer.train()
    sampler.join()
    (t0, s0), (t1, s1) = readings[0], readings[-1]
    return (s1 - s0) / (t1 - t0)


def trainer_parser(description: str) -> argparse.ArgumentParser:
    """The flags of the trainer measurements: what to train, how many workers, how long to measure."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--connectome", default="wba")
    parser.add_argument("--task", default="1-3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=45.0, help="steady-state measuring time of each trainer")
    return parser


def measured_rate(args: argparse.Namespace, **overrides) -> float:
    """:func:`trainer_rate` of the trainer ``args`` describe, into a temporary run directory."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(connectome=args.connectome, task=args.task, workers=args.workers, steps=10**9,
                          out=str(Path(tmp) / "run"), checkpoint_every=10**9, **overrides)
        return trainer_rate(cfg, args.seconds)


def timed(phases: Counter, name: str, fn: Callable) -> Callable:
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        phases[name] += time.perf_counter() - start
        return result

    return wrapper


def worker_phases(cfg: TrainConfig, rollouts: int) -> tuple[float, Counter]:
    """One in-process worker on one thread: steps/s and seconds per phase (after a warm-up)."""
    torch.set_num_threads(1)
    shared = Brain.from_connectome(cfg.connectome)
    name = a3c.memory_region_name(shared)
    memory = None if name is None else shared.regions[name].make_memory()
    a3c.attach_memory(shared, memory)
    optimizer = SharedRMSprop(shared.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
    worker = a3c.Worker(0, 0, cfg, cfg.connectome, a3c.SharedParameters(shared, optimizer), memory,
                        Counters(mp.get_context("spawn")), queue.Queue(), threading.Event())
    worker._setup()
    phases: Counter = Counter()
    worker.envs.step = timed(phases, "acting: simulator", worker.envs.step)
    worker.brain.step = timed(phases, "acting: Brain.step", worker.brain.step)
    worker.brain.rollout = timed(phases, "training: Brain.rollout forward", worker.brain.rollout)
    optimizer.step = timed(phases, "training: shared RMSProp step", optimizer.step)
    worker._reverse_replay = timed(phases, "training: memory write", worker._reverse_replay)
    worker._act, worker._learn = timed(phases, "acting (all)", worker._act), timed(phases, "training (all)", worker._learn)
    worker.parameters.pull = timed(phases, "weight copy", worker.parameters.pull)

    def run(n: int) -> None:
        for _ in range(n):
            worker.rollout()

    run(max(10, rollouts // 4))  # warm-up: allocator, memory filling
    phases.clear()
    start = time.perf_counter()
    run(rollouts)
    return rollouts * cfg.t_max * cfg.envs_per_worker / (time.perf_counter() - start), phases


def side_by_side_rate(cfg: TrainConfig, rollouts: int, processes: int) -> list[float]:
    """Steps/s of each of ``processes`` independent :func:`worker_phases` runs at once (spawned processes)."""
    pool = mp.get_context("spawn").Pool(processes)
    results = pool.starmap(worker_phases, [(cfg, rollouts)] * processes)
    pool.close()  # let the processes exit on their own (terminate() would leak their semaphores)
    pool.join()
    return [rate for rate, _ in results]


def machine_reference_ms(repeats: int = 200) -> float:
    """Median milliseconds of a fixed batch-1 workload (a 256 x 1024 matmul chain), one thread.

    Printed beside the throughput so that figures from different times can be compared: the
    shared VM's speed changes by about 2x from hour to hour, the code's cost does not.
    """
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    weights = [torch.randn(256, 1024, generator=generator), torch.randn(1024, 256, generator=generator)]
    x = torch.randn(1, 256, generator=generator)
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            y = x
            for _ in range(10):
                y = torch.tanh(y @ weights[0]) @ weights[1]
            times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


def main() -> None:
    parser = trainer_parser(__doc__.splitlines()[0])
    parser.add_argument("--envs", default="1,4,8,16", help="--envs-per-worker values, comma-separated")
    parser.add_argument("--rollouts", type=int, default=40, help="rollouts timed in part 2 (per value)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.envs.split(",")]
    reference = machine_reference_ms()
    rates = {size: measured_rate(args, envs_per_worker=size) for size in sizes}
    print(f"\nmachine reference workload: {reference:.3f} ms (before the run; {machine_reference_ms():.3f} ms after)")
    print(f"trainer, {args.connectome}, task {args.task}, {args.workers} workers, {args.seconds:.0f} s steady state each "
          f"(target >= 1,000 steps/s and >= 3x N = 1):")
    for size, rate in rates.items():
        print(f"  --envs-per-worker {size:3}: {rate:6.0f} environment steps/s" +
              (f"  ({rate / rates[sizes[0]]:.2f}x N = {sizes[0]})" if size != sizes[0] else ""))
    best = max(rates, key=rates.get)
    print("one worker alone, one thread, milliseconds per environment step:")
    steps_per_s, splits = {}, {}
    for size in sizes:
        cfg = TrainConfig(connectome=args.connectome, task=args.task, workers=1, steps=10**9, out="-",
                          envs_per_worker=size)
        steps_per_s[size], phases = worker_phases(cfg, args.rollouts)
        splits[size] = {name: 1e3 * seconds / (args.rollouts * cfg.t_max * size) for name, seconds in phases.items()}
    names = sorted({name for split in splits.values() for name in split})
    print(f"  {'N':34} " + " ".join(f"{size:>7}" for size in sizes))
    print(f"  {'steps/s':34} " + " ".join(f"{steps_per_s[size]:7.0f}" for size in sizes))
    for name in names:
        print(f"  {name:34} " + " ".join(f"{splits[size].get(name, 0.0):7.3f}" for size in sizes))
    cfg = TrainConfig(connectome=args.connectome, task=args.task, workers=1, steps=10**9, out="-", envs_per_worker=best)
    ceiling = side_by_side_rate(cfg, args.rollouts, args.workers)
    print(f"{args.workers} workers of N = {best} at once, sharing nothing: {sum(ceiling):.0f} steps/s in total "
          f"({', '.join(f'{each:.0f}' for each in ceiling)}); the trainer reached {rates[best]:.0f}")


if __name__ == "__main__":
    main()
