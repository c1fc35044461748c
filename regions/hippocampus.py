"""Hippocampal episodic memory: a differentiable neural dictionary that carries value."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Tensors, register
from regions.dnd import DND, check_config
from regions.functional import check_units


@register("hippocampus")
class Hippocampus(Region):
    """Hippocampus as episodic memory "that carries value" (Wimmer & Shohamy 2012).

    The memory is a differentiable neural dictionary (DND) as in Neural Episodic Control
    (Pritzel et al. 2017): one store per action of (key, return) pairs of states actually
    visited, read by k-nearest neighbours with an inverse-distance kernel. It plays the role
    of fast, one-shot hippocampal learning beside the slow cortical (gradient) learning.

    Computation: the input (e.g. ``ca1.code``) is projected by a trainable linear layer to the
    memory key and layer-normalised without learned gain, so that keys keep a fixed scale
    (norm about ``sqrt(key_size)``) while the encoder learns and stored keys do not go stale
    by a mere change of scale. ``values`` is the DND's per-action read-out of that key; it is
    differentiable with respect to the key, so the A3C loss trains the projection.

    Memory: the DND is a plain attribute ``memory``, neither a parameter nor a buffer nor a
    submodule: the trainer makes one with :meth:`make_memory`, moves it to shared memory and
    attaches the same object to every worker's copy of the brain with :meth:`attach_memory`.
    Writes are the trainer's job (reverse replay of the rollout's returns, after the update);
    ``forward`` only reads. A region used on its own makes a private memory on first use (the DND
    allocates ``capacity`` entries per action up front: 384 MB at the defaults, so give quick
    experiments and tests a small ``capacity``).

    Ports:
        in ``key`` [n] (the memory-key source, e.g. ``ca1.code``).
        out ``values`` [actions] (per-action memory estimates); ``key`` [key_size] (the key that
        reverse replay writes).
    State: the DND (not a tensor state). Losses: none.

    Args:
        input_shapes: resolved input shapes (``key`` required).
        key_size: size of the memory key.
        capacity: entries per action before least-recently-used eviction.
        k: neighbours per read-out.
        actions: number of actions (one store each).
        backend: DND nearest-neighbour backend (``"auto"`` picks the best available).
        delta: kernel constant in ``1 / (distance^2 + delta)``.
        alpha: learning rate of the value of an entry written again at the same key.
        match_radius: distance under which a write updates an existing entry.
    """

    inputs = {"key": InputPort(doc="source of the memory key, e.g. ca1.code")}
    holds_memory = True

    def __init__(self, input_shapes: Mapping[str, Shape], key_size: int = 64, capacity: int = 500_000, k: int = 50,
                 actions: int = 3, backend: str = "auto", delta: float = 1e-3, alpha: float = 0.1,
                 match_radius: float = 0.0):
        super().__init__(input_shapes)
        self.memory_params = {
            "n_actions": check_units("hippocampus", "actions", actions),
            "key_size": check_units("hippocampus", "key_size", key_size),
            "capacity": check_units("hippocampus", "capacity", capacity),
            "k": check_units("hippocampus", "k", k),
            "backend": backend, "delta": delta, "alpha": alpha, "match_radius": match_radius,
        }
        check_config(**self.memory_params)  # a bad alpha or backend fails here, at --check, not in the first worker
        self.project = nn.Linear(math.prod(input_shapes["key"]), key_size)
        self.normalise = nn.LayerNorm(key_size, elementwise_affine=False)
        self.memory: DND | None = None
        self.output_shapes = {"values": (actions,), "key": (key_size,)}

    def make_memory(self, capacity: int | None = None) -> DND:
        """A new, empty DND sized by this region's parameters (``capacity``: entries per action instead of
        ``params.capacity``, e.g. a small memory for a check)."""
        return DND(**{**self.memory_params, **({} if capacity is None else {"capacity": capacity})})

    def attach_memory(self, memory: DND) -> None:
        """Read from ``memory`` from now on (the trainer shares one DND across worker processes)."""
        for name in ("key_size", "n_actions"):
            have, want = getattr(memory, name), self.memory_params[name]
            if have != want:
                raise ValueError(f"hippocampus: the memory has {name} {have} but the region expects {want} "
                                 f"(params.key_size / params.actions); make the memory with region.make_memory()")
        self.memory = memory

    def forward(self, inputs: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        key = self.normalise(self.project(inputs["key"].flatten(1)))
        if self.memory is None:
            self.attach_memory(self.make_memory())
        return {"values": self.memory.lookup(key), "key": key}, {}
