"""One weight gradient per loop instead of one per step, for the weights a recurrent region uses every step.

Backpropagation through a loop of ``T`` steps gives a weight used at each step ``T`` gradients of
its full size (outer products ``g_t^T x_t``), each allocated and added into the weight's
gradient: at batch 1 that is memory traffic of several times the weight per step, the largest
cost of a rollout's backward pass. Within :func:`gradients_per_loop`, :func:`looped_linear`
keeps each step's ``(g_t, x_t)`` instead and the weight receives their sum as one matmul
``[out, T*B] x [T*B, in]`` once every step's backward has run. The result is the same gradient.

How the ordering is guaranteed: the loop uses a stand-in for the weight (the output of
``_Gather``, made once per loop); autograd runs ``_Gather.backward`` only after every step that
used the stand-in has delivered its gradient, so by then all ``(g_t, x_t)`` are collected.

Example (the engine wraps a rollout's step-by-step segments this way)::

    with gradients_per_loop():
        for x in xs:
            h = torch.tanh(looped_linear(h, cell.weight_hh, cell.bias_hh) + x)
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F

_LOOP: contextvars.ContextVar[dict[int, tuple[torch.Tensor, list]] | None] = contextvars.ContextVar("loop", default=None)


@contextmanager
def gradients_per_loop() -> Iterator[None]:
    """Within the block, :func:`looped_linear` gives each weight one gradient for all its uses."""
    token = _LOOP.set({})
    try:
        yield
    finally:
        _LOOP.reset(token)


def looped_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)``; within :func:`gradients_per_loop` (and with grad) the weight's
    gradient is summed over the loop's steps in one matmul."""
    loop = _LOOP.get()
    if loop is None or not (torch.is_grad_enabled() and weight.requires_grad) or x.dim() != 2:
        return F.linear(x, weight, bias)
    if id(weight) not in loop:
        steps: list[tuple[torch.Tensor, torch.Tensor]] = []
        loop[id(weight)] = (_Gather.apply(weight, steps), steps)
    stand_in, steps = loop[id(weight)]
    out = _Step.apply(x, stand_in, steps)
    return out if bias is None else out + bias


class _Gather(torch.autograd.Function):
    """Identity on the weight; its backward returns the sum of the steps' weight gradients."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, steps: list) -> torch.Tensor:
        ctx.steps = steps
        ctx.set_materialize_grads(False)
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, _unused: torch.Tensor | None):
        steps = ctx.steps
        if not steps:
            return None, None
        grads, inputs = zip(*steps)
        steps.clear()
        return torch.cat(grads).T @ torch.cat(inputs), None


class _Step(torch.autograd.Function):
    """``x @ weight.T`` whose backward passes the input's gradient on and keeps the weight's for later."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, steps: list) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.steps = steps
        return x @ weight.T

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        ctx.steps.append((grad, x))
        return (grad @ weight if ctx.needs_input_grad[0] else None), None, None
