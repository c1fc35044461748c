"""Amygdala: bounded valence, the clipped-reward loss, and learning to predict reward from what is seen."""

from __future__ import annotations

import pytest
import torch

from regions.amygdala import Amygdala


def food_in_view(steps: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Visual features ``[T, B, 8]`` and the reward of each step's action ``[T, B]``.

    Food ahead (feature 0 above 1) means the next action earns +2 (clipped to +1 by the region);
    otherwise the step costs the small time penalty.
    """
    generator = torch.Generator().manual_seed(seed)
    visual = torch.randn(steps, batch, 8, generator=generator)
    reward = torch.where(visual[..., 0] > 1.0, 2.0, -0.005)
    return visual, reward


def test_valence_is_bounded_by_the_clip():
    region = Amygdala({"visual": (8,), "reward": (1,)}, clip=0.5)
    out, state = region({"visual": 100 * torch.randn(6, 8), "reward": torch.full((6, 1), 2.0)}, {})
    assert out["valence"].shape == (6, 1) and state == {}
    assert out["valence"].abs().max() <= 0.5


def test_reward_input_is_optional_and_clipped():
    assert Amygdala({"visual": (8,)}).net[0].in_features == 8
    region = Amygdala({"visual": (8,), "reward": (1,)})
    visual = torch.randn(3, 8)
    food, _ = region({"visual": visual, "reward": torch.full((3, 1), 2.0)}, {})
    clipped, _ = region({"visual": visual, "reward": torch.full((3, 1), 1.0)}, {})
    torch.testing.assert_close(food["valence"], clipped["valence"])


def test_loss_is_the_masked_squared_error_to_the_clipped_reward():
    region = Amygdala({"visual": (8,)})
    valence = torch.tensor([[[0.5]], [[0.0]], [[-0.2]]])  # [T=3, B=1, 1]
    reward = torch.tensor([[2.0], [-0.5], [9.0]])
    mask = torch.tensor([[1.0], [1.0], [0.0]])
    loss = region.auxiliary_losses({"valence": valence}, {"reward": reward, "mask": mask})["reward"]
    torch.testing.assert_close(loss, torch.tensor((0.5**2 + 0.5**2) / 2))
    with_axis = region.auxiliary_losses({"valence": valence}, {"reward": reward[..., None], "mask": mask})
    torch.testing.assert_close(with_axis["reward"], loss)


def test_learns_to_predict_reward_from_the_view(fit):
    region = Amygdala({"visual": (8,)}, hidden=32)
    visual, reward = food_in_view(10, 32, seed=0)

    def reward_loss() -> torch.Tensor:
        out, _ = region({"visual": visual.flatten(0, 1)}, {})
        return region.auxiliary_losses({"valence": out["valence"].unflatten(0, (10, 32))}, {"reward": reward})["reward"]

    history = fit(region.parameters(), reward_loss, steps=80, lr=1e-2)
    assert history[-1] < 0.25 * history[0]
    test_visual, test_reward = food_in_view(10, 32, seed=1)
    with torch.no_grad():
        valence = region({"visual": test_visual.flatten(0, 1)}, {})[0]["valence"].reshape(10, 32)
    food = test_reward > 0
    assert valence[food].mean() > 0.5 and valence[~food].abs().mean() < 0.2


def test_a_reward_target_of_the_wrong_shape_is_reported():
    region = Amygdala({"visual": (8,)})
    with pytest.raises(ValueError, match=r"expected \[T, B\]"):
        region.auxiliary_losses({"valence": torch.zeros(4, 2, 1)}, {"reward": torch.zeros(4, 3)})
    with pytest.raises(ValueError, match=r"'reward' is missing"):
        region.auxiliary_losses({"valence": torch.zeros(4, 2, 1)}, {})
