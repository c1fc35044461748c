"""Prefrontal cortex: the actor, with working memory."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Teacher, Tensors, register
from regions.functional import (check_action_port, check_target, check_units, input_gates, join_ports, lstm_step,
                                port_width, soft_cross_entropy, zeros_for)
from regions.teachers import cue_teacher


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

    With ``cue_targets``, a linear read-out of the working memory reports the target the trial's
    cue announced, at every step of the trial, taught by the cue teacher: in the cue tasks the cue
    is on screen only while the agent is paralysed, and a rollout of 20 steps is too short for the
    policy gradient alone to reach from the choice back to the cue (truncated backpropagation);
    the report asks the working memory to hold the cue, step by step, through the walk.

    Ports:
        in ``state`` [n] (e.g. ca3.state); ``memory_values`` *opt* [actions];
        ``valence`` *opt* [1]; ``visual`` *opt* [n].
        out ``logits`` [actions]; ``working_memory`` [working_memory] (the LSTM output);
        ``cue_report`` [len(cue_targets)] (softmax; only with ``cue_targets``).
    State: LSTM ``h``, ``c`` [working_memory]. Losses: ``cue`` (cross-entropy of ``cue_report``
    against the cued target, over the steps of cued trials; only with ``cue_targets``).

    Args:
        input_shapes: resolved input shapes (``state`` required).
        working_memory: LSTM units.
        actions: number of actions.
        cue_targets: the targets a cue can announce, in read-out order (e.g. ``[red, green, blue]``);
            empty: no cue report.
    """

    inputs = {
        "state": InputPort(doc="context from the hippocampal formation, e.g. ca3.state"),
        "memory_values": InputPort(required=False, doc="per-action values read from episodic memory"),
        "valence": InputPort(required=False, doc="predicted imminent reward from the amygdala"),
        "visual": InputPort(required=False, doc="visual features"),
    }
    drives = ("state", "valence", "visual", "memory_values")
    cell_inputs = ("state", "valence", "visual")

    def __init__(self, input_shapes: Mapping[str, Shape], working_memory: int = 128, actions: int = 3,
                 cue_targets: Sequence[str] = ()):
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
        self.cue_readout: nn.Linear | None = None
        self._teachers: dict[str, Teacher] = {}
        if cue_targets:
            self.cue_readout = nn.Linear(working_memory, len(cue_targets))
            self.output_shapes["cue_report"] = (len(cue_targets),)
            self._teachers["cue"] = cue_teacher(list(cue_targets), port="cue_report")

    def teachers(self) -> dict[str, Teacher]:
        return self._teachers

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
        outputs = {"logits": logits, "working_memory": h}
        if self.cue_readout is not None:
            outputs["cue_report"] = self.cue_readout(h).softmax(dim=-1)
        return outputs, {"h": h, "c": c}

    def auxiliary_losses(self, outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> Tensors:
        if self.cue_readout is None:
            return {}
        report = outputs["cue_report"]
        cued = check_target("prefrontal", "cue", targets, report, "cue_targets")
        mask = cued.sum(dim=-1)  # steps of trials with a cue
        if "mask" in targets:
            mask = mask * targets["mask"].reshape(mask.shape).to(mask.dtype)
        return {"cue": soft_cross_entropy(report, cued, mask)}
