"""Amygdala: reward valuation, the predicted valence of what the agent sees."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Teacher, Tensors, register
from regions.functional import check_units, masked_mean, require_target
from regions.teachers import reward_teacher


@register("amygdala")
class Amygdala(Region):
    """Amygdala: learns the valence of sensory situations, i.e. the reward they announce.

    The basolateral amygdala associates stimuli with the outcomes that follow them and
    signals their value to prefrontal cortex and striatum. Here it predicts the reward the
    agent's next action will earn from what it sees (like UNREAL's reward prediction,
    Jaderberg et al. 2017), which shapes the visual features towards food and goal zones.

    Computation: ``visual`` joined with the clipped ``reward`` just received (when connected)
    through a ReLU layer (``hidden``) and a linear unit with ``tanh``: ``valence`` in [-1, 1].

    Why a regression of the clipped reward, and not UNREAL's 3-class sign classification:
    ``valence`` is one scalar in reward units that the actor and critic read directly, with
    good and bad outcomes on one signed axis, and the contract gives the amygdala this one
    output port (a class distribution would need another). In these tasks the sign classes
    would degenerate anyway: every step carries the small time penalty and the only events
    are positive (+2 zone bonus, +2 food). Clipping to [-1, 1] (as in DQN and UNREAL) keeps a
    double event bounded and matches the ``tanh`` range; the time penalty stays a small
    negative valence.

    Ports:
        in ``visual`` [n]; ``reward`` *opt* [1] (reward received at this step).
        out ``valence`` [1] (predicted reward of this step's action, clipped scale).
    State: none (time may be folded into the batch axis).
    Losses: ``reward``: squared error between ``valence`` and the teacher's reward of this
    step's action clipped to [-1, 1], averaged over valid steps.

    Args:
        input_shapes: resolved input shapes (``visual`` required).
        hidden: units of the hidden layer.
        clip: rewards (input and target) are clipped to [-clip, clip] and the valence scaled to it.
    """

    inputs = {
        "visual": InputPort(doc="visual features, e.g. visual_cortex.features"),
        "reward": InputPort(required=False, shape=(1,), doc="reward received at this step (env.reward)"),
    }

    def __init__(self, input_shapes: Mapping[str, Shape], hidden: int = 64, clip: float = 1.0):
        super().__init__(input_shapes)
        if clip <= 0:
            raise ValueError(f"amygdala: params.clip must be positive, got {clip!r}")
        self.clip = float(clip)
        width = math.prod(input_shapes["visual"]) + (1 if "reward" in input_shapes else 0)
        self.net = nn.Sequential(nn.Linear(width, check_units("amygdala", "hidden", hidden)), nn.ReLU(),
                                 nn.Linear(hidden, 1), nn.Tanh())
        self.output_shapes = {"valence": (1,)}
        self._teachers = {"reward": reward_teacher(port="valence")}

    def teachers(self) -> dict[str, Teacher]:
        return self._teachers

    def forward(self, inputs: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        x = inputs["visual"].flatten(1)
        if "reward" in inputs:
            x = torch.cat([x, inputs["reward"].reshape(-1, 1).to(x.dtype).clamp(-self.clip, self.clip)], dim=-1)
        return {"valence": self.clip * self.net(x)}, {}

    def auxiliary_losses(self, outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> Tensors:
        valence = outputs["valence"][..., 0]
        reward = require_target("amygdala", "reward", targets).to(valence.dtype)
        if reward.dim() == valence.dim() + 1 and reward.shape[-1] == 1:
            reward = reward[..., 0]
        if reward.shape != valence.shape:
            raise ValueError(f"amygdala: teacher signal 'reward' has shape {tuple(reward.shape)}; "
                             f"expected [T, B] = {tuple(valence.shape)} (one reward per step)")
        error = valence - reward.clamp(-self.clip, self.clip)
        return {"reward": masked_mean(error.square(), targets.get("mask"))}
