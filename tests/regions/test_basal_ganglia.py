"""Basal ganglia: the value, and the one-step-late, detached TD error with its episode-start reset."""

from __future__ import annotations

import pytest
import torch

from regions.basal_ganglia import BasalGanglia

SHAPES = {"state": (6,), "reward": (1,)}


def test_td_error_is_previous_reward_plus_discounted_value_minus_previous_value(unroll):
    region = BasalGanglia(SHAPES, gamma=0.9)
    states, rewards = torch.randn(5, 2, 6), torch.randn(5, 2, 1)
    out, final = unroll(region, {"state": states, "reward": rewards})
    value = out["value"].detach()
    torch.testing.assert_close(out["td_error"][0], torch.zeros(2, 1))  # no previous value at episode start
    torch.testing.assert_close(out["td_error"][1:], rewards[1:] + 0.9 * value[1:] - value[:-1])
    torch.testing.assert_close(final["value"], value[-1])
    torch.testing.assert_close(final["has_previous"], torch.ones(2, 1))


def test_td_error_is_a_signal_not_a_path_for_gradients(unroll):
    region = BasalGanglia(SHAPES)
    out, _ = unroll(region, {"state": torch.randn(3, 2, 6), "reward": torch.randn(3, 2, 1)})
    assert out["value"].requires_grad and not out["td_error"].requires_grad


def test_reset_state_zeroes_the_td_error_of_the_next_step():
    region = BasalGanglia(SHAPES)
    step = {"state": torch.randn(3, 6), "reward": torch.ones(3, 1)}
    _, state = region(step, region.initial_state(3))
    fresh = region.initial_state(3)
    reset = {name: torch.where(torch.tensor([[True], [False], [False]]), fresh[name], value)
             for name, value in state.items()}  # the engine resets row 0 only
    out, _ = region(step, reset)
    assert out["td_error"][0] == 0 and (out["td_error"][1:] != 0).all()


def test_without_a_reward_port_the_reward_counts_as_zero(unroll):
    region = BasalGanglia({"state": (6,)})
    out, _ = unroll(region, {"state": torch.randn(4, 2, 6)})
    value = out["value"].detach()
    torch.testing.assert_close(out["td_error"][1:], 0.99 * value[1:] - value[:-1])


def test_value_reads_memory_and_valence_when_connected():
    region = BasalGanglia({"state": (6,), "memory_values": (3,), "valence": (1,)})
    assert region.critic.in_features == 10
    x = {"state": torch.randn(2, 6), "memory_values": torch.randn(2, 3), "valence": torch.randn(2, 1)}
    base, _ = region(x, region.initial_state(2))
    other, _ = region({**x, "valence": x["valence"] + 1.0}, region.initial_state(2))
    assert not torch.allclose(base["value"], other["value"])


def test_gamma_outside_the_unit_interval_is_rejected():
    with pytest.raises(ValueError, match=r"params.gamma"):
        BasalGanglia(SHAPES, gamma=1.5)
