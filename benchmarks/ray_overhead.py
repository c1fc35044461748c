"""Overhead of the Ray backend on one machine: trainer steps/s local against Ray, and the memory options.

    python benchmarks/ray_overhead.py [--connectome wba] [--task 1-3] [--workers 2] [--seconds 60]

Part 1 runs the real trainer twice, ``--backend local`` then ``--backend ray`` (a private Ray
with a CPU per worker), and reports the steady-state environment steps/s of each (counted from
the first step, so process and actor start-up are left out) and their ratio.

Part 2 measures what decided how the Ray backend handles the hippocampal DND: the latency of
one batch-1 lookup (what ``Brain.step`` asks for every environment step) in the worker's own
DND, against the same lookup sent to a memory actor (a Ray round trip; a real memory actor would
also have to return the neighbours for the differentiable read-out, so this is a lower bound),
and the cost per rollout of the per-worker copy instead: merging another worker's rollout of
writes. The memory holds ``--memory-size`` entries per action, keys as the wba hippocampus's
(64-d, k 50, 3 actions). Part 3 times one learner round trip of the full brain: gradients
pushed, weights back.
"""

from __future__ import annotations

import threading

import numpy as np
import ray
import torch
from dnd_latency import K, KEY_SIZE, N_ACTIONS, make_keys, seconds_per_call
from training_throughput import measured_rate, trainer_parser

from brain.engine import Brain
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop
from brain.training.ray_backend import Learner, LearnerLink, SyncedDND, connect
from regions.dnd import DND

ROLLOUT = 20  # writes per rollout (t_max)


@ray.remote(num_cpus=0)
class MemoryActor:
    """The rejected option: one DND that every worker's lookups go to."""

    def __init__(self, size: int):
        self.dnd = filled_dnd(DND, size)

    def lookup(self, keys: torch.Tensor) -> torch.Tensor:
        return self.dnd.lookup(keys)


def filled_dnd(kind: type[DND], size: int) -> DND:
    """A DND of the wba hippocampus's shape with ``size`` entries per action (exact torch search)."""
    rng = np.random.default_rng(0)
    dnd = kind(n_actions=N_ACTIONS, key_size=KEY_SIZE, capacity=max(size, 1) + 10_000, k=K, backend="torch")
    keys = make_keys(size * N_ACTIONS, "manifold", rng)
    dnd.write(torch.from_numpy(keys), torch.arange(size * N_ACTIONS) % N_ACTIONS, torch.randn(size * N_ACTIONS))
    return dnd


def memory_options(size: int) -> dict[str, float]:
    """Milliseconds: local lookup, memory-actor lookup (per step), merging one rollout of writes (per rollout)."""
    torch.set_num_threads(1)
    query = torch.from_numpy(make_keys(1, "manifold", np.random.default_rng(1)))
    local = filled_dnd(SyncedDND, size)
    actor = MemoryActor.remote(size)
    ray.get(actor.lookup.remote(query))
    batch = [(torch.randn(ROLLOUT, KEY_SIZE), torch.arange(ROLLOUT) % N_ACTIONS, torch.randn(ROLLOUT))]
    return {"lookup in the worker's own DND (per step)": 1e3 * seconds_per_call(lambda: local.lookup(query)),
            "lookup through a memory actor (per step)": 1e3 * seconds_per_call(
                lambda: ray.get(actor.lookup.remote(query))),
            f"merge another worker's {ROLLOUT} writes (per rollout)": 1e3 * seconds_per_call(
                lambda: local.merge(batch))}


def learner_round_trip(cfg: TrainConfig) -> float:
    """Milliseconds of one push of the full brain's gradients and the pull of the new weights."""
    brain = Brain.from_connectome(cfg.connectome)
    optimizer = SharedRMSprop(brain.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
    state = {"brain": brain.state_dict(), "optimizer": optimizer.state_dict(), "memory": None}
    connectome = Brain.from_connectome(cfg.connectome).connectome.to_yaml()
    link = LearnerLink(Learner.remote(cfg, connectome, state, 0, 0), 0, threading.Event())
    for parameter in brain.parameters():
        parameter.grad = torch.randn_like(parameter)

    def round_trip() -> None:
        link.push(brain)
        link.pull(brain)

    return 1e3 * seconds_per_call(round_trip, budget_s=3.0)


def main() -> None:
    parser = trainer_parser(__doc__.splitlines()[0])
    parser.add_argument("--memory-size", type=int, default=20_000, help="DND entries per action in part 2")
    args = parser.parse_args()
    connect("", args.workers)
    rates = {backend: measured_rate(args, backend=backend) for backend in ("local", "ray")}
    print(f"\n{args.connectome}, task {args.task}, {args.workers} workers, {args.seconds:.0f} s of steady state each:")
    print("  backend   environment steps/s")
    for backend, rate in rates.items():
        print(f"  {backend:8}  {rate:8.0f}")
    print(f"  ray / local = {rates['ray'] / rates['local']:.2f}")
    print(f"\nmemory options, {args.memory_size} entries per action (milliseconds):")
    for name, ms in memory_options(args.memory_size).items():
        print(f"  {name:52} {ms:7.3f}")
    cfg = TrainConfig(connectome=args.connectome, task=args.task)
    print(f"\nlearner round trip, {args.connectome} gradients pushed and weights pulled: "
          f"{learner_round_trip(cfg):.1f} ms per rollout")


if __name__ == "__main__":
    main()
