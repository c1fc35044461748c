"""Small pure functions the regions share: joining optional ports, mask-aware losses, checks.

Kept here so that each region file holds only what is particular to that region.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from regions.base import Shape
from regions.loop_weights import looped_linear


def port_width(input_shapes: Mapping[str, Shape], names: Sequence[str]) -> int:
    """Total number of units of the *connected* ports among ``names`` (flattened).

    Example:
        >>> port_width({"state": (256,), "valence": (1,)}, ["state", "memory_values", "valence"])
        257
    """
    return sum(math.prod(input_shapes[name]) for name in names if name in input_shapes)


def join_ports(inputs: Mapping[str, torch.Tensor], names: Sequence[str]) -> torch.Tensor:
    """Concatenate the present ports among ``names`` along the last axis (``[B, n1 + n2 + ...]``).

    Like afferents converging on one dendritic field: an absent (unconnected) port narrows the
    input instead of being zero-filled, matching the width computed by :func:`port_width`.
    """
    parts = [inputs[name].flatten(1) for name in names if name in inputs]
    if not parts:
        raise ValueError(f"none of the input ports {list(names)} is connected; connect at least one of them")
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def input_gates(cell: nn.LSTMCell | nn.GRUCell, x: torch.Tensor) -> torch.Tensor:
    """A recurrent cell's input-to-hidden term ``W_ih x + b_ih``: it needs no state, so a whole
    rollout's worth can be computed in one batched call (:meth:`regions.base.Region.drive`)."""
    return F.linear(x, cell.weight_ih, cell.bias_ih)


def lstm_step(cell: nn.LSTMCell, gates_in: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``cell(x, (h, c))`` given ``gates_in = input_gates(cell, x)``: the same maths as ``nn.LSTMCell``.

    Written out so that the input term can come precomputed; it is also about twice as fast
    forward and backward over a rollout as ``nn.LSTMCell`` step by step (fewer autograd nodes).
    """
    gates = gates_in + looped_linear(h, cell.weight_hh, cell.bias_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.addcmul(f.sigmoid() * c, i.sigmoid(), g.tanh())
    return o.sigmoid() * c.tanh(), c


def gru_step(cell: nn.GRUCell, gates_in: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``cell(x, h)`` given ``gates_in = input_gates(cell, x)``: the same maths as ``nn.GRUCell``."""
    reset_in, update_in, new_in = gates_in.chunk(3, dim=-1)
    reset_h, update_h, new_h = looped_linear(h, cell.weight_hh, cell.bias_hh).chunk(3, dim=-1)
    reset, update = (reset_in + reset_h).sigmoid(), (update_in + update_h).sigmoid()
    new = torch.addcmul(new_in, reset, new_h).tanh()
    return torch.addcmul(new, update, h - new)  # (1 - z) n + z h


def zeros_for(module: nn.Module, *shape: int) -> torch.Tensor:
    """Zeros on the device and dtype of ``module``'s parameters (for initial recurrent states)."""
    parameter = next(module.parameters())
    return torch.zeros(*shape, device=parameter.device, dtype=parameter.dtype)


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of per-step ``values`` ``[T, B]`` over valid steps (``mask`` 1), not a sum over time.

    Averaging (rather than summing, the 2017 bug) keeps an auxiliary loss on the same scale
    whatever the rollout length. Masked steps are ignored even if they hold inf or NaN (padding);
    a mask with no valid step gives 0 (and a zero gradient).
    """
    if mask is None:
        return values.mean()
    valid = mask.reshape(values.shape) > 0
    return torch.where(valid, values, torch.zeros_like(values)).sum() / valid.sum().clamp_min(1)


def soft_cross_entropy(probs: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy ``-sum_i target_i log probs_i`` of softmax activities against soft labels.

    ``probs`` and ``target`` are ``[T, B, N]`` ensembles (each sums to 1); the result is
    averaged over valid steps. ``probs`` is clamped at the smallest normal float so that the
    logarithm stays finite; the gradient is exact wherever the softmax has not underflowed.
    """
    tiny = torch.finfo(probs.dtype).tiny
    per_step = -(target * probs.clamp_min(tiny).log()).sum(dim=-1)
    return masked_mean(per_step, mask)


def require_target(region: str, target_name: str, targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Return ``targets[target_name]``, or say which teacher signal is missing and where it comes from."""
    if target_name not in targets:
        raise ValueError(f"{region}: teacher signal {target_name!r} is missing from the targets "
                         f"(got {sorted(targets)}); Brain.teacher_targets computes every region's teachers")
    return targets[target_name]


def check_target(region: str, target_name: str, targets: Mapping[str, torch.Tensor],
                 outputs: torch.Tensor, param: str) -> torch.Tensor:
    """Return the teacher ensemble ``targets[target_name]`` after checking it matches ``outputs`` in shape.

    Raises:
        ValueError: naming the missing teacher signal, or the region parameter to change
            when the ensemble sizes differ.
    """
    target = require_target(region, target_name, targets).to(outputs.dtype)
    if target.shape != outputs.shape:
        raise ValueError(f"{region}: teacher signal {target_name!r} has shape {tuple(target.shape)} but the "
                         f"region outputs {tuple(outputs.shape)}; set params.{param} to the teacher's size "
                         f"({target.shape[-1]}) or build the teacher with {outputs.shape[-1]} cells")
    return target


def check_probability(region: str, name: str, value: float) -> float:
    """Validate a dropout-like parameter in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{region}: params.{name} must be in [0, 1), got {value!r}")
    return float(value)


def check_units(region: str, name: str, value: int) -> int:
    """Validate a layer-size parameter (a positive integer)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{region}: params.{name} must be a positive integer, got {value!r}")
    return value


def check_action_port(region: str, input_shapes: Mapping[str, Shape], port: str, actions: int) -> None:
    """A per-action input (the memory's values) must have one unit per action."""
    if port in input_shapes and math.prod(input_shapes[port]) != actions:
        raise ValueError(f"{region}: input {port!r} has shape {tuple(input_shapes[port])} but params.actions is "
                         f"{actions}; wire the memory's per-action values (hippocampus.values) or set params.actions")
