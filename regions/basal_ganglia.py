"""Basal ganglia: the critic, and a dopamine-like temporal-difference error."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Tensors, register
from regions.functional import join_ports, port_width, zeros_for


@register("basal_ganglia")
class BasalGanglia(Region):
    """Basal ganglia: state value (critic) and the phasic dopamine signal (Barto 1995).

    In actor-critic readings of the basal ganglia, the striatum learns the value of the
    current state and midbrain dopamine neurons report the temporal-difference (TD) error,
    the surprise in reward (Schultz, Dayan & Montague 1997).

    Computation: ``value`` is a linear function of ``state`` joined with ``memory_values``
    and ``valence`` (when connected). ``td_error`` is the error of the *previous* step,
    available one step late because it needs the reward the previous action earned:
    ``r_{t-1} + gamma * V_t - V_{t-1}``, where ``r_{t-1}`` is the ``reward`` input (the reward
    received at this step; 0 when the port is not connected). It is 0 at the start of an
    episode (no previous value), so the reward of an episode's final action, which arrives
    with the reset, produces no TD error. The TD error is detached: it is a recorded signal;
    the value is trained by the trainer's A3C value loss.

    Ports:
        in ``state`` [n]; ``memory_values`` *opt* [A]; ``valence`` *opt* [1]; ``reward`` *opt* [1].
        out ``value`` [1]; ``td_error`` [1].
    State: ``value`` [1] (the previous value, detached) and ``has_previous`` [1] (0 at episode
    start). Losses: none.

    Args:
        input_shapes: resolved input shapes (``state`` required).
        gamma: discount factor of the TD error (match the trainer's).
    """

    inputs = {
        "state": InputPort(doc="context, e.g. ca3.state"),
        "memory_values": InputPort(required=False, doc="per-action values read from episodic memory"),
        "valence": InputPort(required=False, doc="predicted imminent reward from the amygdala"),
        "reward": InputPort(required=False, shape=(1,), doc="reward received at this step (env.reward)"),
    }
    drives = ("state", "memory_values", "valence")

    def __init__(self, input_shapes: Mapping[str, Shape], gamma: float = 0.99):
        super().__init__(input_shapes)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"basal_ganglia: params.gamma must be in [0, 1], got {gamma!r}")
        self.gamma = float(gamma)
        self.critic = nn.Linear(port_width(input_shapes, self.drives), 1)
        self.output_shapes = {"value": (1,), "td_error": (1,)}

    def initial_state(self, batch_size: int) -> Tensors:
        return {"value": zeros_for(self, batch_size, 1), "has_previous": zeros_for(self, batch_size, 1)}

    def drive(self, inputs: Mapping[str, torch.Tensor]) -> Tensors:
        return {"value": self.critic(join_ports(inputs, self.drives))}

    def driven(self, drive: Mapping[str, torch.Tensor], inputs: Mapping[str, torch.Tensor],
               state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        value = drive["value"]
        current = value.detach()
        reward = inputs["reward"].reshape(-1, 1) if "reward" in inputs else torch.zeros_like(current)
        td_error = state["has_previous"] * (reward.to(current.dtype) + self.gamma * current - state["value"])
        return {"value": value, "td_error": td_error}, {"value": current, "has_previous": torch.ones_like(current)}
