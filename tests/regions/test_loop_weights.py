"""One weight gradient per loop: the same gradients as plain autograd, step by step."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from regions.loop_weights import gradients_per_loop, looped_linear


def unrolled(linear, weight, bias, x0, inputs):
    """A small tanh recurrence whose last step does not reach the loss (as a rollout's bootstrap step)."""
    h, outputs = x0, []
    for x in inputs:
        h = torch.tanh(linear(h, weight, bias) + x)
        outputs.append(h)
    return sum((t + 1) * o.square().sum() for t, o in enumerate(outputs[:-1]))


def test_the_deferred_weight_gradient_equals_the_step_by_step_one():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(5, 5, generator=generator, requires_grad=True)
    bias = torch.randn(5, generator=generator, requires_grad=True)
    x0 = torch.randn(2, 5, generator=generator, requires_grad=True)
    inputs = torch.randn(6, 2, 5, generator=generator)
    expected = torch.autograd.grad(unrolled(F.linear, weight, bias, x0, inputs), [weight, bias, x0])
    with gradients_per_loop():
        loss = unrolled(looped_linear, weight, bias, x0, inputs)
    assert loss.grad_fn is not None
    for ours, theirs in zip(torch.autograd.grad(loss, [weight, bias, x0]), expected):
        torch.testing.assert_close(ours, theirs)


def test_two_loops_sharing_a_weight_add_their_gradients_and_outside_a_loop_nothing_changes():
    generator = torch.Generator().manual_seed(1)
    weight = torch.randn(4, 4, generator=generator, requires_grad=True)
    x0 = torch.randn(3, 4, generator=generator)
    first, second = torch.randn(2, 4, 3, 4, generator=generator)
    expected = torch.autograd.grad(unrolled(F.linear, weight, None, x0, first)
                                   + unrolled(F.linear, weight, None, x0, second), weight)[0]
    with gradients_per_loop():
        loss = unrolled(looped_linear, weight, None, x0, first)
    with gradients_per_loop():
        loss = loss + unrolled(looped_linear, weight, None, x0, second)
    torch.testing.assert_close(torch.autograd.grad(loss, weight)[0], expected)
    assert looped_linear(x0, weight).grad_fn.name() == F.linear(x0, weight).grad_fn.name()
