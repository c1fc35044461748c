"""Medial entorhinal cortex: path integration into head-direction, grid and place read-outs."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Teacher, Tensors, register
from regions.functional import (check_probability, check_target, check_units, input_gates, lstm_step,
                                soft_cross_entropy, zeros_for)
from regions.loop_weights import looped_linear
from regions.teachers import head_direction_teacher, place_cell_teacher

GRID_ACTIVATIONS = ("linear", "relu")
INTEGRATORS = ("lstm", "velocity")


def encode_self_motion(odometry: torch.Tensor, turn_scale: float, move_scale: float) -> torch.Tensor:
    """``(turn_deg, move_m)`` -> ``[turn / turn_scale, move / move_scale, sin turn, cos turn]``.

    Normalised to about unit scale (the 2017 agent fed raw degrees and metres), with the sine
    and cosine of the turn angle that an integrator of heading needs.
    """
    turn, move = odometry[..., 0], odometry[..., 1]
    radians = turn * (math.pi / 180.0)
    return torch.stack([turn / turn_scale, move / move_scale, radians.sin(), radians.cos()], dim=-1)


def turned(heading: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The unit heading vector ``(x, z)`` after a turn given by its cosine and sine (positive: clockwise seen
    from above, as the odometry's).

    An ideal head-direction integrator: the rotation is exact, and the result is renormalised, so that a
    start heading set by a learned map (``brain.pretrain_paths``) becomes a direction after the first step.
    """
    x, z = heading[..., 0], heading[..., 1]
    rotated = torch.stack([x * cos + z * sin, z * cos - x * sin], dim=-1)
    return rotated / rotated.norm(dim=-1, keepdim=True).clamp_min(1e-6)


@register("entorhinal")
class Entorhinal(Region):
    """Medial entorhinal cortex: head-direction and grid cells from path integration.

    Follows Banino et al. (2018, Nature 557: 429): a recurrent network integrates the
    efference copy of self-motion, optionally corrected by vision; its state passes through a
    linear bottleneck with dropout whose units (``grid``) tend to develop grid-like firing
    when the network is trained to predict place-cell and head-direction-cell ensembles.

    Computation: ``self_motion`` (odometry) normalised to ``[turn/10, move/2, sin, cos]`` and
    ``visual`` (a linear projection, when connected) drive an LSTM cell (``hidden``); ``grid``
    is a linear bottleneck of the LSTM output (rectified with ``grid_activation: relu``); dropout
    is applied on the way from ``grid`` to the two linear read-outs, whose softmaxes are
    ``head_direction`` and ``place``. The exported ``grid`` port is the bottleneck before dropout,
    so that regions downstream (and the policy) see the same code when acting and when replaying a
    rollout for training.

    With ``integrator: velocity`` the integrator is Sorscher et al.'s (2019, 2023) instead: a recurrent
    network of rectified units with no bias, ``grid`` its state (``hidden`` units, no bottleneck), driven
    by the allocentric velocity: the move times the unit heading of an ideal head-direction integrator
    (the turns summed exactly, :func:`turned`; imposed, not learned). There the heading is state too,
    ``(0, 1)`` at an episode's start: the path is integrated in the frame the agent starts in. The velocity
    and the visual input reach the units through separate layers with no bias (nor has the visual
    projection one), so that a dark view (zeros) drives nothing.

    Grid-like units emerge most reliably (Sorscher et al. 2019, 2023) with centre-surround place
    targets (``place_surround: 2``) and non-negative units (``grid_activation: relu``), fields a
    fraction of the box wide (``place_sigma: 0.12`` in a 2.2 m arena); the defaults keep Banino et
    al.'s Gaussian targets and linear bottleneck. ``connectome/wba_arena.yaml`` sets them for the
    open arena; ``python -m brain.pretrain_paths`` trains the region on foraging paths there.

    Ports:
        in ``self_motion`` [2] odometry (turn degrees, move metres); ``visual`` *opt* [n].
        out ``grid`` [grid_units]; ``head_direction`` [head_cells] and ``place`` [place_cells]
        (softmax activities).
    State: LSTM ``h``, ``c`` [hidden]; with ``integrator: velocity``, ``grid`` [hidden] and ``heading`` [2].
    Losses: ``head_direction`` and ``place_cells``: cross-entropy of the read-outs against the
    teacher ensembles (soft labels), averaged over valid steps. The 2017 agent regressed raw
    degrees summed over a T x T broadcast instead; this is its fix.

    Args:
        input_shapes: resolved input shapes (``self_motion`` required).
        hidden: LSTM units; with ``integrator: velocity`` the recurrent (grid) units.
        grid_units: units of the linear bottleneck; with ``integrator: velocity``, equal to ``hidden``.
        dropout: dropout probability on the bottleneck (Banino et al. used 0.5).
        head_cells: head-direction read-out size, and of its teacher.
        place_cells: place read-out size, and of its teacher.
        visual_units: size of the projection of the visual correction input.
        turn_scale: degrees that map to 1 (the turn action is 10 degrees); the velocity integrator turns by
            the exact angle instead.
        move_scale: metres that map to 1 (the move action is 2 m).
        head_kappa: concentration of the head-direction teacher's tunings (20 as in Banino et al. 2018).
        place_sigma: width in metres of the place teacher's fields.
        place_seed: seed of the place teacher's field centres (one map per maze).
        place_surround: centre-surround place fields, the ratio of the surround's variance to the
            centre's (Sorscher et al.: 2); 0 for Gaussian fields.
        grid_activation: ``"linear"`` (Banino et al.) or ``"relu"`` (non-negative grid units; the velocity
            integrator's units are rectified, so it needs ``"relu"``).
        integrator: ``"lstm"`` (Banino et al.) or ``"velocity"`` (Sorscher et al.).
    """

    inputs = {
        "self_motion": InputPort(shape=(2,), doc="odometry of the action just applied: (turn_deg, move_m)"),
        "visual": InputPort(required=False, doc="visual features that correct drift of the integrator"),
    }
    drives = ("self_motion", "visual")
    readouts = ("head_direction", "place")
    function_params = ("grid_activation", "integrator")
    input_scales = ("turn_scale", "move_scale")

    def __init__(self, input_shapes: Mapping[str, Shape], hidden: int = 128, grid_units: int = 256,
                 dropout: float = 0.5, head_cells: int = 12, place_cells: int = 256, visual_units: int = 64,
                 turn_scale: float = 10.0, move_scale: float = 2.0, head_kappa: float = 20.0,
                 place_sigma: float = 1.0, place_seed: int = 0, place_surround: float = 0.0,
                 grid_activation: str = "linear", integrator: str = "lstm"):
        super().__init__(input_shapes)
        for name, value, allowed in (("grid_activation", grid_activation, GRID_ACTIVATIONS),
                                     ("integrator", integrator, INTEGRATORS)):
            if value not in allowed:
                raise ValueError(f"entorhinal: params.{name} must be one of {', '.join(allowed)}, got {value!r}")
        self.rectify = grid_activation == "relu"
        self.by_velocity = integrator == "velocity"
        self.hidden = check_units("entorhinal", "hidden", hidden)
        if self.by_velocity and (grid_units != hidden or not self.rectify):
            raise ValueError(f"entorhinal: integrator velocity has rectified recurrent units that are the grid units: "
                             f"set grid_units equal to hidden (got {grid_units} and {hidden}) and grid_activation: "
                             f"relu (got {grid_activation!r})")
        for name, scale in (("turn_scale", turn_scale), ("move_scale", move_scale)):
            if not scale > 0:  # odometry is divided by it: 0 gives inf and NaN, a negative one mirrors the motion
                raise ValueError(f"entorhinal: params.{name} must be positive, got {scale!r}")
        self.turn_scale, self.move_scale = float(turn_scale), float(move_scale)
        self.visual: nn.Module | None = None
        if "visual" in input_shapes:  # the velocity integrator's has no bias: in the dark (zeros) it is silent
            self.visual = nn.Sequential(
                nn.Linear(math.prod(input_shapes["visual"]), check_units("entorhinal", "visual_units", visual_units),
                          bias=not self.by_velocity),
                nn.ReLU())
        if self.by_velocity:  # no bias anywhere, as Sorscher et al.: silence stays silent without motion
            self.velocity_in = nn.Linear(2, hidden, bias=False)
            self.recurrent = nn.Linear(hidden, hidden, bias=False)
            if self.visual is not None:  # its own layer, so that the velocity's weights start at their own scale
                self.visual_in = nn.Linear(visual_units, hidden, bias=False)
        else:
            self.cell = nn.LSTMCell(4 + (visual_units if self.visual is not None else 0), hidden)
            self.bottleneck = nn.Linear(hidden, check_units("entorhinal", "grid_units", grid_units), bias=False)
        self.dropout = nn.Dropout(check_probability("entorhinal", "dropout", dropout))
        self.head_readout = nn.Linear(grid_units, check_units("entorhinal", "head_cells", head_cells))
        self.place_readout = nn.Linear(grid_units, check_units("entorhinal", "place_cells", place_cells))
        self.output_shapes = {"grid": (grid_units,), "head_direction": (head_cells,), "place": (place_cells,)}
        self._teachers = {"head_direction": head_direction_teacher(head_cells, head_kappa, port="head_direction"),
                          "place_cells": place_cell_teacher(place_cells, place_sigma, place_seed,
                                                            surround=place_surround, port="place")}

    def teachers(self) -> dict[str, Teacher]:
        return self._teachers

    def initial_state(self, batch_size: int) -> Tensors:
        if self.by_velocity:
            heading = zeros_for(self, batch_size, 2)
            heading[:, 1] = 1.0
            return {"grid": zeros_for(self, batch_size, self.hidden), "heading": heading}
        return {"h": zeros_for(self, batch_size, self.hidden), "c": zeros_for(self, batch_size, self.hidden)}

    def drive(self, inputs: Mapping[str, torch.Tensor]) -> Tensors:
        odometry = inputs["self_motion"]
        if self.by_velocity:
            turn = odometry[..., 0] * (math.pi / 180.0)  # the rotation is state-free: computed for a whole rollout
            drive = {"motion": torch.stack([turn.cos(), turn.sin(), odometry[..., 1] / self.move_scale], dim=-1)}
            if self.visual is not None:
                drive["visual"] = self.visual_in(self.visual(inputs["visual"].flatten(1)))
            return drive
        x = encode_self_motion(odometry, self.turn_scale, self.move_scale)
        if self.visual is not None:
            x = torch.cat([x, self.visual(inputs["visual"].flatten(1))], dim=-1)
        return {"gates": input_gates(self.cell, x)}

    def driven(self, drive: Mapping[str, torch.Tensor], inputs: Mapping[str, torch.Tensor],
               state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        if self.by_velocity:
            cos, sin, move = drive["motion"].unbind(-1)
            heading = turned(state["heading"], cos, sin)
            velocity = move.unsqueeze(-1) * heading
            total = looped_linear(state["grid"], self.recurrent.weight) + looped_linear(velocity,
                                                                                      self.velocity_in.weight)
            grid = (total + drive["visual"] if "visual" in drive else total).relu()
            return {"grid": grid}, {"grid": grid, "heading": heading}
        h, c = lstm_step(self.cell, drive["gates"], state["h"], state["c"])
        grid = looped_linear(h, self.bottleneck.weight)
        return {"grid": grid.relu() if self.rectify else grid}, {"h": h, "c": c}

    def read_out(self, outputs: Mapping[str, torch.Tensor]) -> Tensors:
        dropped = self.dropout(outputs["grid"])
        return {"head_direction": self.head_readout(dropped).softmax(dim=-1),
                "place": self.place_readout(dropped).softmax(dim=-1)}

    def auxiliary_losses(self, outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> Tensors:
        mask = targets.get("mask")
        head = outputs["head_direction"]
        place = outputs["place"]
        head_target = check_target("entorhinal", "head_direction", targets, head, "head_cells")
        place_target = check_target("entorhinal", "place_cells", targets, place, "place_cells")
        return {"head_direction": soft_cross_entropy(head, head_target, mask),
                "place_cells": soft_cross_entropy(place, place_target, mask)}
