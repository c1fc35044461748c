"""Prefrontal cortex: the actor, with working memory."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Tensors, register
from regions.functional import (check_action_port, check_units, input_gates, join_ports, lstm_step, port_width,
                                zeros_for)


@register("prefrontal")
class Prefrontal(Region):
    """Prefrontal cortex: action selection with working memory (the actor of A3C).

    Prefrontal cortex holds task-relevant information over delays (working memory) and
    selects actions; the cue tasks 1-7 and 1-8d need exactly that, since the cue leaves the
    screen before the choice.

    Computation: ``state`` joined with ``valence`` and ``visual`` (when connected) drives an
    LSTM cell, the working memory. The policy logits are a learned combination of a linear
    read-out of the working memory and a linear map of the episodic memory's per-action
    values ``memory_values``. The memory map starts at zero and the read-out at small weights,
    so the first policy is near uniform and the weight given to memory is learned. (The 2017
    actor was a bare softmax of the memory read-outs, which the policy gradient could reach
    only through the memory key.)

    Ports:
        in ``state`` [n] (e.g. ca3.state); ``memory_values`` *opt* [actions];
        ``valence`` *opt* [1]; ``visual`` *opt* [n].
        out ``logits`` [actions]; ``working_memory`` [working_memory] (the LSTM output).
    State: LSTM ``h``, ``c`` [working_memory]. Losses: none (the policy loss is the trainer's).

    Args:
        input_shapes: resolved input shapes (``state`` required).
        working_memory: LSTM units.
        actions: number of actions.
    """

    inputs = {
        "state": InputPort(doc="context from the hippocampal formation, e.g. ca3.state"),
        "memory_values": InputPort(required=False, doc="per-action values read from episodic memory"),
        "valence": InputPort(required=False, doc="predicted imminent reward from the amygdala"),
        "visual": InputPort(required=False, doc="visual features"),
    }
    drives = ("state", "valence", "visual", "memory_values")
    cell_inputs = ("state", "valence", "visual")

    def __init__(self, input_shapes: Mapping[str, Shape], working_memory: int = 128, actions: int = 3):
        super().__init__(input_shapes)
        self.units = check_units("prefrontal", "working_memory", working_memory)
        check_action_port("prefrontal", input_shapes, "memory_values", check_units("prefrontal", "actions", actions))
        self.cell = nn.LSTMCell(port_width(input_shapes, self.cell_inputs), working_memory)
        self.readout = nn.Linear(working_memory, actions)
        nn.init.orthogonal_(self.readout.weight, gain=0.01)
        nn.init.zeros_(self.readout.bias)
        self.memory_gain: nn.Linear | None = None
        if "memory_values" in input_shapes:
            self.memory_gain = nn.Linear(actions, actions, bias=False)
            nn.init.zeros_(self.memory_gain.weight)
        self.output_shapes = {"logits": (actions,), "working_memory": (working_memory,)}

    def initial_state(self, batch_size: int) -> Tensors:
        return {"h": zeros_for(self, batch_size, self.units), "c": zeros_for(self, batch_size, self.units)}

    def drive(self, inputs: Mapping[str, torch.Tensor]) -> Tensors:
        drive = {"gates": input_gates(self.cell, join_ports(inputs, self.cell_inputs))}
        if self.memory_gain is not None:
            drive["memory"] = self.memory_gain(inputs["memory_values"].flatten(1))
        return drive

    def driven(self, drive: Mapping[str, torch.Tensor], inputs: Mapping[str, torch.Tensor],
               state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        h, c = lstm_step(self.cell, drive["gates"], state["h"], state["c"])
        logits = self.readout(h)
        if "memory" in drive:
            logits = logits + drive["memory"]
        return {"logits": logits, "working_memory": h}, {"h": h, "c": c}
