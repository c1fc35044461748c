"""CA3: the recurrent-collateral network of the hippocampus."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Tensors, register
from regions.functional import check_units, gru_step, input_gates, join_ports, port_width


@register("ca3")
class CA3(Region):
    """CA3: context, sequence and pattern completion through recurrent collaterals.

    CA3 pyramidal cells excite each other through recurrent collaterals, which lets the
    area hold and complete a context from partial input. Here the collaterals are drawn in
    the connectome, not hidden inside the module: the ``state`` output is wired back into the
    ``previous`` input through a delay-1 edge, so the recurrence can be seen, recorded and
    lesioned like any other pathway. The state of this loop is the agent's memory of the
    episode so far (the 2017 agent's LSTM stood in for CA3).

    Computation: a GRU cell whose input is ``ec`` joined with ``visual`` (when connected) and
    whose previous hidden state is the ``previous`` port, or zeros when that port is not
    connected (a lesion of the collaterals). The engine supplies zeros on the delayed edge at
    the start of an episode.

    Ports:
        in ``ec`` [n] (entorhinal input, the perforant path); ``visual`` *opt* [n];
        ``previous`` *opt* [units] (its own ``state`` one step earlier).
        out ``state`` [units].
    State: none inside the module (the recurrence is the delayed edge). Losses: none.

    Args:
        input_shapes: resolved input shapes (``ec`` required).
        units: size of the CA3 state.
    """

    inputs = {
        "ec": InputPort(doc="entorhinal input (perforant path), e.g. entorhinal.grid"),
        "visual": InputPort(required=False, doc="visual features"),
        "previous": InputPort(required=False, doc="its own state one step earlier, via a delay-1 edge"),
    }
    drives = ("ec", "visual")

    def __init__(self, input_shapes: Mapping[str, Shape], units: int = 256):
        super().__init__(input_shapes)
        self.units = check_units("ca3", "units", units)
        if "previous" in input_shapes and math.prod(input_shapes["previous"]) != units:
            raise ValueError(f"ca3: input 'previous' has shape {tuple(input_shapes['previous'])} but params.units "
                             f"is {units}; wire ca3.state -> ca3.previous with delay 1 (same size)")
        self.cell = nn.GRUCell(port_width(input_shapes, self.drives), units)
        self.output_shapes = {"state": (units,)}

    def drive(self, inputs: Mapping[str, torch.Tensor]) -> Tensors:
        return {"gates": input_gates(self.cell, join_ports(inputs, self.drives))}

    def driven(self, drive: Mapping[str, torch.Tensor], inputs: Mapping[str, torch.Tensor],
               state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        gates = drive["gates"]
        previous = inputs.get("previous")
        previous = gates.new_zeros(gates.shape[0], self.units) if previous is None else previous.flatten(1)
        return {"state": gru_step(self.cell, gates, previous)}, {}
