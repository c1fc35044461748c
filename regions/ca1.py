"""CA1: place cells, comparing CA3 recall with direct entorhinal input."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Teacher, Tensors, register
from regions.functional import check_target, check_units, join_ports, port_width, soft_cross_entropy
from regions.teachers import place_cell_teacher


@register("ca1")
class CA1(Region):
    """CA1: place cells and the spatial code that keys episodic memory.

    CA1 receives CA3's recall through the Schaffer collaterals and the entorhinal input
    directly through the temporoammonic path; its pyramidal cells are the classic place cells.

    Computation: the joined inputs (``ca3`` and, when connected, ``ec``) pass through a
    ``tanh`` layer, the ``code``; a linear read-out of the code with a softmax over
    ``place_cells`` units gives the place-cell activity. Because the place cells are read from
    the code, supervising them makes the code carry the agent's position, and the code is the
    natural source of the hippocampal memory key (the 2017 idea of spatial information in the
    key, now learned from true position rather than dead reckoning).

    Ports:
        in ``ca3`` [n] (Schaffer collaterals); ``ec`` *opt* [n] (temporoammonic path).
        out ``place_cells`` [place_cells] (softmax activity); ``code`` [code].
    State: none (time may be folded into the batch axis).
    Losses: ``place_cells``: cross-entropy of the place-cell activity against the teacher's
    place-cell ensemble (softmax of Gaussian fields around the true position), averaged over
    valid steps.

    Args:
        input_shapes: resolved input shapes (``ca3`` required).
        place_cells: number of place units, and of their teacher.
        code: units of the code layer.
        place_sigma: width in metres of the place teacher's fields.
        place_seed: seed of the place teacher's field centres (one map per maze).
    """

    inputs = {
        "ca3": InputPort(doc="CA3 state (Schaffer collaterals)"),
        "ec": InputPort(required=False, doc="entorhinal input (temporoammonic path), e.g. entorhinal.grid"),
    }
    drives = ("ca3", "ec")

    def __init__(self, input_shapes: Mapping[str, Shape], place_cells: int = 256, code: int = 128,
                 place_sigma: float = 1.0, place_seed: int = 0):
        super().__init__(input_shapes)
        self.code = nn.Sequential(nn.Linear(port_width(input_shapes, self.drives), check_units("ca1", "code", code)),
                                  nn.Tanh())
        self.place_readout = nn.Linear(code, check_units("ca1", "place_cells", place_cells))
        self.output_shapes = {"place_cells": (place_cells,), "code": (code,)}
        self._teachers = {"place_cells": place_cell_teacher(place_cells, place_sigma, place_seed, port="place_cells")}

    def teachers(self) -> dict[str, Teacher]:
        return self._teachers

    def forward(self, inputs: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        code = self.code(join_ports(inputs, self.drives))
        return {"place_cells": self.place_readout(code).softmax(dim=-1), "code": code}, {}

    def auxiliary_losses(self, outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> Tensors:
        place = outputs["place_cells"]
        target = check_target("ca1", "place_cells", targets, place, "place_cells")
        return {"place_cells": soft_cross_entropy(place, target, targets.get("mask"))}
