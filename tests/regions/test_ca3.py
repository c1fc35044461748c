"""CA3: recurrence through the delayed ``previous`` port, optional inputs, size checks."""

from __future__ import annotations

import pytest
import torch

from regions.ca3 import CA3


def test_absent_previous_port_behaves_as_a_zero_previous_state():
    lesioned = CA3({"ec": (10,)}, units=16)
    intact = CA3({"ec": (10,), "previous": (16,)}, units=16)
    intact.load_state_dict(lesioned.state_dict())
    ec = torch.randn(4, 10)
    alone, _ = lesioned({"ec": ec}, {})
    at_reset, _ = intact({"ec": ec, "previous": torch.zeros(4, 16)}, {})
    torch.testing.assert_close(alone["state"], at_reset["state"])


def test_state_fed_back_through_previous_carries_the_past():
    region = CA3({"ec": (10,), "previous": (16,)}, units=16)
    cue, blank = torch.randn(2, 10), torch.zeros(2, 10)
    cued, _ = region({"ec": cue, "previous": torch.zeros(2, 16)}, {})
    later, _ = region({"ec": blank, "previous": cued["state"]}, {})
    no_cue, _ = region({"ec": blank, "previous": torch.zeros(2, 16)}, {})
    assert not torch.allclose(later["state"], no_cue["state"])


def test_gradient_flows_back_through_the_previous_state():
    region = CA3({"ec": (10,), "previous": (16,)}, units=16)
    ec = torch.randn(3, 10, requires_grad=True)
    first, _ = region({"ec": ec, "previous": torch.zeros(3, 16)}, {})
    second, _ = region({"ec": torch.zeros(3, 10), "previous": first["state"]}, {})
    second["state"].sum().backward()
    assert ec.grad.abs().sum() > 0


def test_visual_input_joins_the_entorhinal_drive():
    region = CA3({"ec": (10,), "visual": (6,)}, units=16)
    assert region.cell.input_size == 16
    ec = torch.randn(2, 10)
    seen, _ = region({"ec": ec, "visual": torch.randn(2, 6)}, {})
    other, _ = region({"ec": ec, "visual": torch.randn(2, 6)}, {})
    assert not torch.allclose(seen["state"], other["state"])


def test_state_stays_bounded_like_a_firing_rate():
    region = CA3({"ec": (10,), "previous": (16,)}, units=16)
    state = torch.zeros(2, 16)
    for _ in range(50):
        state = region({"ec": 100 * torch.randn(2, 10), "previous": state}, {})[0]["state"]
    assert state.abs().max() <= 1.0


def test_previous_port_of_another_size_names_the_fix():
    with pytest.raises(ValueError, match=r"params.units is 16.*ca3.state -> ca3.previous"):
        CA3({"ec": (10,), "previous": (8,)}, units=16)
