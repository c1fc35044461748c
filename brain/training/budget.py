"""What a brain will cost before it exists: parameters and memory, from a build on the ``meta`` device.

A connectome is a few lines of YAML, and a few lines can ask for terabytes (``hidden: 1000000``,
``capacity: 100000000``, ``delay: 10000000``). The command lines size the brain here, with nothing
allocated, and refuse one whose estimate exceeds ``--max-memory-gb`` (default: 80 % of this
machine's memory) before any region, memory or run directory is made::

    >>> from brain.connectome import load_connectome
    >>> cost = estimate(load_connectome("wba"), workers=2)
    >>> cost.parameters
    1771081

The estimate counts, in float32: the shared weights and RMSProp statistics; per worker, its copy of
the weights and their gradients, and per environment it acts on, the activations of one rollout
(``t_max`` steps) and the buffers of the delayed edges; the episodic memories (keys, values and bookkeeping, times two for the search index);
and, for workers on this machine, about :data:`WORKER_PROCESS_BYTES` per process. It is meant to be
within a factor of two, which is enough to stop a typing mistake of three zeros.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from brain.argtypes import number
from brain.connectome.schema import Connectome, Loc

GB = 1 << 30
#: Resident memory of one worker process before its brain: Python, torch, the simulator.
WORKER_PROCESS_BYTES = 300 << 20
#: Most workers one run starts unless ``--max-workers`` allows more (a cluster, for instance).
MAX_WORKERS = 64
FLOAT = 4
Probe = tuple[dict[str, Any], dict[str, tuple[int, ...]]]  # brain.connectome.wiring.probe: regions on meta, port shapes


def machine_memory_bytes() -> int:
    """Physical memory of this machine (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def default_max_memory_gb() -> float:
    """80 % of this machine's memory, or 16 GB where it cannot be read."""
    total = machine_memory_bytes()
    return round(0.8 * total / GB, 1) if total else 16.0


@dataclass(frozen=True)
class Limits:
    """Resource limits the command lines enforce before they start anything (``--max-memory-gb``, ``--max-workers``)."""

    max_memory_gb: float = field(default_factory=default_max_memory_gb)
    max_workers: int = MAX_WORKERS


@dataclass(frozen=True)
class Part:
    """One item of the estimate: what it is, its bytes, and where the connectome asks for it."""

    what: str
    bytes: int
    loc: Loc


@dataclass(frozen=True)
class Estimate:
    """Parameters of one brain and the bytes a run with ``workers`` workers needs, item by item."""

    parameters: int
    workers: int
    parts: tuple[Part, ...]

    @property
    def bytes(self) -> int:
        return sum(part.bytes for part in self.parts)

    def summary(self) -> str:
        """One line: ``memory estimate 1.2 GB for 2 workers (...)``."""
        largest = sorted(self.parts, key=lambda part: -part.bytes)[:3]
        items = ", ".join(f"{part.what} {_gb(part.bytes)}" for part in largest if part.bytes)
        return f"memory estimate {_gb(self.bytes)} for {self.workers} worker{'s' * (self.workers != 1)} ({items})"


def _gb(n: int) -> str:
    if n < GB:
        return f"{n / (1 << 20):.0f} MB"
    return f"{n / GB:.2f} GB" if n < 100 * GB else f"{n / GB:,.0f} GB"


def estimate(connectome: Connectome, workers: int = 1, t_max: int = 20, local_workers: bool = True,
             probed: Probe | None = None, envs_per_worker: int = 1) -> Estimate:
    """Size the brain of ``connectome`` for a run of ``workers`` workers, allocating nothing.

    ``local_workers``: the workers run on this machine (their processes count too). ``probed``: the
    result of :func:`brain.connectome.wiring.probe`, when the caller has it already. ``envs_per_worker``: the
    batch of each worker's brain (activity, observations and delay buffers grow with it).
    """
    batch = workers * envs_per_worker
    from brain.connectome.wiring import probe

    regions, shapes = probed or probe(connectome)
    removed = {name for name, mode in connectome.lesions.items() if mode == "remove"}
    parts: list[Part] = []
    total_parameters = 0
    for name, region in regions.items():
        if name in removed:
            continue
        count = sum(parameter.numel() for parameter in region.parameters())
        total_parameters += count
        # shared weights + RMSProp square average, and per worker a copy of the weights and their gradients
        parts.append(Part(f"{name} weights", count * FLOAT * (2 + 2 * workers), ("regions", name, "params")))
        activity = sum(math.prod(shape) for shape in region.output_shapes.values())
        parts.append(Part(f"{name} activity", activity * FLOAT * 3 * t_max * batch, ("regions", name, "params")))
        parts.extend(_memory_parts(name, region))
    for index, conn in enumerate(connectome.connections):
        if conn.delay and str(conn.source) in shapes:
            size = math.prod(shapes[str(conn.source)]) * conn.delay * FLOAT * (t_max + 1) * batch
            parts.append(Part(f"delay buffer of {conn}", size, ("connections", index, "delay")))
    for key, shape in connectome.inputs.items():
        parts.append(Part(f"env.{key} observations", math.prod(shape) * FLOAT * 2 * t_max * batch, ("inputs", key)))
    if local_workers:
        parts.append(Part("worker processes", WORKER_PROCESS_BYTES * workers, ()))
    return Estimate(total_parameters, workers, tuple(parts))


def _memory_parts(name: str, region) -> Iterator[Part]:
    """The episodic memory a region makes (``make_memory``): keys, values and bookkeeping per entry."""
    params = getattr(region, "memory_params", None)
    if params and hasattr(region, "make_memory"):
        entry = FLOAT * params["key_size"] * 2 + 48  # key (and its copy in the search index), norm, value, stamps, place, id
        yield Part(f"{name} episodic memory", params["n_actions"] * params["capacity"] * entry,
                   ("regions", name, "params", "capacity"))


def check(connectome: Connectome, limits: Limits, workers: int = 1, t_max: int = 20,
          local_workers: bool = True, probed: Probe | None = None, envs_per_worker: int = 1) -> Estimate:
    """:func:`estimate`, refused with a ConnectomeError at its largest item when above ``limits.max_memory_gb``."""
    cost = estimate(connectome, workers, t_max, local_workers, probed, envs_per_worker)
    if cost.bytes > limits.max_memory_gb * GB:
        largest = max(cost.parts, key=lambda part: part.bytes)
        where = "the worker processes" if not largest.loc else largest.what
        raise connectome.error(largest.loc, f"the brain would need about {_gb(cost.bytes)} of memory, above the limit "
                               f"of {limits.max_memory_gb:g} GB; the largest item is {where} "
                               f"({_gb(largest.bytes)}; {cost.parameters:,} parameters in all)",
                               "make the sizes smaller, use fewer --workers, or raise the limit with "
                               "--max-memory-gb N if this machine has that memory")
    return cost


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """``--max-memory-gb`` and ``--max-workers``, in a group of their own."""
    limits = parser.add_argument_group("resource limits (docs/interfaces.md, section 6)")
    limits.add_argument("--max-memory-gb", type=number(float, 0, low_inclusive=False), default=None, metavar="GB",
                        help="refuse a brain whose memory estimate exceeds this (default: 80%% of this machine's "
                             f"memory, {default_max_memory_gb():g} GB here)")
    limits.add_argument("--max-workers", type=number(int, 1), default=MAX_WORKERS, metavar="N",
                        help="refuse more --workers than this (default: %(default)s; raise it on a cluster)")


def limits_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Limits:
    """The limits the flags set; ``--workers`` above ``--max-workers`` exits with code 2."""
    if args.workers > args.max_workers:
        parser.error(f"argument --workers: {args.workers} workers is above the limit of {args.max_workers} "
                     f"(each is a process with its own brain and environment); use fewer, or raise the limit "
                     f"with --max-workers {args.workers} on a machine or cluster that has the cores")
    return Limits(max_memory_gb=args.max_memory_gb or default_max_memory_gb(), max_workers=args.max_workers)


def message(cost: Estimate, limits: Limits) -> str:
    """What ``--check`` prints about the cost."""
    return (f"{cost.summary()}; limit {limits.max_memory_gb:g} GB (--max-memory-gb)")

