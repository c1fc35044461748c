"""Shared region helpers: joining optional ports, mask-aware means, soft-label cross-entropy, cell steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from regions.functional import (gru_step, input_gates, join_ports, lstm_step, masked_mean, port_width,
                                soft_cross_entropy)


def test_join_ports_concatenates_only_the_connected_ports_in_declared_order():
    a, c = torch.ones(2, 3), torch.zeros(2, 1, 2)
    joined = join_ports({"c": c, "a": a}, ["a", "b", "c"])
    torch.testing.assert_close(joined, torch.cat([a, c.flatten(1)], -1))
    assert port_width({"a": (3,), "c": (1, 2)}, ["a", "b", "c"]) == joined.shape[1] == 5
    with pytest.raises(ValueError, match=r"none of the input ports \['b'\] is connected"):
        join_ports({"a": a}, ["b"])


def test_masked_mean_averages_valid_steps_only():
    values = torch.tensor([[1.0, 100.0], [3.0, float("nan")]])
    mask = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    torch.testing.assert_close(masked_mean(values, mask), torch.tensor(2.0))
    torch.testing.assert_close(masked_mean(values[:, :1], None), torch.tensor(2.0))
    empty = masked_mean(values.requires_grad_(), torch.zeros(2, 2))
    empty.backward()
    assert empty == 0 and not values.grad.any()


def test_soft_cross_entropy_is_lowest_at_the_target_where_it_equals_the_target_entropy():
    target = torch.softmax(torch.randn(4, 3, 6), -1)
    entropy = -(target * target.log()).sum(-1).mean()
    logits = target.log().clone().requires_grad_()
    at_target = soft_cross_entropy(logits.softmax(-1), target, None)
    at_target.backward()
    torch.testing.assert_close(at_target, entropy)
    assert logits.grad.abs().max() < 1e-6
    assert soft_cross_entropy(torch.softmax(torch.randn(4, 3, 6), -1), target, None) > entropy


def test_soft_cross_entropy_stays_finite_when_a_probability_underflows():
    probs = torch.tensor([[[1.0, 0.0]]])
    loss = soft_cross_entropy(probs, torch.tensor([[[0.5, 0.5]]]), torch.ones(1, 1))
    assert torch.isfinite(loss) and loss > 10


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_a_cell_step_from_its_input_gates_equals_the_torch_cell_with_gradients(kind):
    """The regions' written-out LSTM / GRU steps compute what nn.LSTMCell / nn.GRUCell compute."""
    torch.manual_seed(0)
    cell = nn.LSTMCell(6, 5) if kind == "lstm" else nn.GRUCell(6, 5)
    x, h, c = torch.randn(3, 6, requires_grad=True), torch.randn(3, 5), torch.randn(3, 5)
    if kind == "lstm":
        ours, theirs = lstm_step(cell, input_gates(cell, x), h, c), cell(x, (h, c))
    else:
        ours, theirs = (gru_step(cell, input_gates(cell, x), h),), (cell(x, h),)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    grads = [torch.autograd.grad(sum(o.square().sum() for o in out), [x, *cell.parameters()]) for out in (ours, theirs)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
