"""The Region contract: a brain region is a ``torch.nn.Module`` declared by its ports.

A region never reaches into another region. It reads a mapping of named input tensors and
returns a mapping of named output tensors (TensorDictModule style), plus its own recurrent
state if it has one. The connectome YAML wires ports by name; the graph engine
(:mod:`brain.engine`) builds each region *after* it knows what is connected to it, so a
region receives the resolved shape of every connected input port in ``input_shapes`` and
sizes its layers from them. Several sources wired into one port are concatenated along the
last axis (like afferents converging on one dendritic field), so removing a source simply
narrows the port and the consumer adapts.

Every tensor carries a leading batch axis: an input port of shape ``(n,)`` arrives as
``[B, n]``. Stateless regions may be called with the time axis folded into the batch axis
(``[T*B, n]``): the engine does that for the feed-forward front of the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Sequence

import inspect

import numpy as np
import torch
from torch import nn

Shape = tuple[int, ...]
Tensors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class InputPort:
    """Declaration of one input port.

    Attributes:
        required: the region cannot work without this input (validation fails if unconnected).
        ndim: number of non-batch axes the port accepts (1 for vectors, 3 for images).
        shape: exact shape the port needs, or ``None`` to accept any shape with ``ndim`` axes.
        doc: one line on what the input means, shown by ``brain.run --check``.
    """

    required: bool = True
    ndim: int = 1
    shape: Shape | None = None
    doc: str = ""


@dataclass(frozen=True)
class TeacherInput:
    """What teacher signals are computed from, over a rollout of ``T`` steps of ``B`` environments.

    Attributes:
        infos: ``[T][B]`` the environment's ``info`` of each step's observation (privileged: the true
            pose, the maze, the cue; never an input of the policy).
        rewards: ``[T, B]`` the reward received after each step's action.
    """

    infos: Sequence[Sequence[Mapping[str, Any]]]
    rewards: np.ndarray

    def stack(self, key: str) -> np.ndarray:
        """``info[key]`` of every step and environment as one array ``[T, B, ...]``."""
        return np.asarray([[info[key] for info in row] for row in self.infos])


@dataclass(frozen=True)
class Teacher:
    """A teacher signal that one of a region's auxiliary losses learns to predict.

    Attributes:
        signal: ``signal(steps: TeacherInput) -> [T, B, *shape]`` float tensor.
        shape: the signal's shape per step and environment.
        info_keys: the ``info`` keys the signal reads; ``--check`` refuses a key the environments
            do not supply (``tasks.INFO_KEYS``).
        weight: default weight of the loss in the A3C objective; the connectome's ``aux_weights:``
            under the region overrides it.
        doc: one line on what the signal is, shown by ``--check``.
        port: the region's output port that the loss fits to the signal, unit by unit, if there is one
            (``python -m analysis.cells`` reports such a port as supervised, matched against this
            signal, never as cells that emerged); ``--check`` refuses a name that is not an output port.
    """

    signal: Callable[[TeacherInput], torch.Tensor]
    shape: Shape
    info_keys: tuple[str, ...] = ()
    weight: float = 0.1
    doc: str = ""
    port: str | None = None


class Region(nn.Module):
    """Base class of every brain region.

    Subclasses set the class attribute ``inputs`` (name -> :class:`InputPort`), and in
    ``__init__`` set ``self.output_shapes`` (name -> shape without the batch axis).
    They override :meth:`forward` (or, for a region with state, optionally :meth:`drive` and
    :meth:`driven` instead: its state-free input term, listed in ``drives``, and the rest of the
    step, plus :meth:`read_out` for the output ports listed in ``readouts``), and optionally
    :meth:`initial_state` (recurrent regions), and :meth:`teachers` with :meth:`auxiliary_losses`
    (regions trained by teacher signals: one loss per teacher, named like it). A region that holds a
    memory outside its tensors (the hippocampal DND) sets ``holds_memory`` and implements
    ``make_memory(capacity=None)`` and ``attach_memory(memory)``; the trainer shares one memory
    between workers.

    Args:
        input_shapes: resolved shape of every *connected* input port. Optional ports that
            are not connected are absent, and the region must work without them.
    """

    inputs: ClassVar[dict[str, InputPort]] = {}
    #: Input ports read only by :meth:`drive` (a region with state may split its step in two).
    drives: ClassVar[tuple[str, ...]] = ()
    #: Output ports that :meth:`read_out` computes, state-free, from the outputs of :meth:`driven`.
    readouts: ClassVar[tuple[str, ...]] = ()
    #: The region keeps a non-tensor memory (``make_memory`` / ``attach_memory``), shared by the trainer.
    holds_memory: ClassVar[bool] = False
    #: Params under which the same weights compute another function (an activation, say): pre-trained weights
    #: (``--init-region``) load only into a region whose values agree with those they were trained under.
    function_params: ClassVar[tuple[str, ...]] = ()
    #: Params that scale an input before the weights see it: pre-trained weights load where they differ, and the
    #: run says how much larger or smaller the same input now reaches them.
    input_scales: ClassVar[tuple[str, ...]] = ()

    def __init__(self, input_shapes: Mapping[str, Shape]):
        super().__init__()
        self.input_shapes: dict[str, Shape] = dict(input_shapes)
        self.output_shapes: dict[str, Shape] = {}

    @property
    def is_recurrent(self) -> bool:
        """True when the region keeps state between steps (then it is never time-folded)."""
        return bool(self.initial_state(1))

    def initial_state(self, batch_size: int) -> Tensors:
        """State at the start of an episode; ``{}`` for a stateless region."""
        return {}

    def forward(self, inputs: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        """One step: returns ``(outputs, next_state)``; outputs are keyed by output port.

        A region that implements :meth:`drive` and :meth:`driven` (and :meth:`read_out`, if it
        declares ``readouts``) gets this one for free.
        """
        if not self.has_drive:
            raise NotImplementedError(f"{type(self).__name__} must implement forward, or drive and driven")
        outputs, state = self.driven(self.drive(inputs), inputs, state)
        if self.readouts:
            outputs = {**outputs, **self.read_out(outputs)}
        return outputs, state

    @property
    def has_drive(self) -> bool:
        """True when the region splits its step into :meth:`drive` and :meth:`driven`."""
        return type(self).driven is not Region.driven

    def drive(self, inputs: Mapping[str, torch.Tensor]) -> Tensors:
        """The part of a step that reads only the ``drives`` ports and no state (e.g. a recurrent
        cell's input-to-hidden term). It must treat every batch row on its own: the engine's rollout
        calls it once with time folded into the batch axis, where the ports come from regions that
        ran before this one's segment, instead of once per step (big weight matrices read once)."""
        raise NotImplementedError

    def driven(self, drive: Mapping[str, torch.Tensor], inputs: Mapping[str, torch.Tensor],
               state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        """The rest of a step given ``drive(inputs)``; ``inputs`` holds at least the ports not in ``drives``.

        Returns every output port except the ``readouts``, and the next state.
        """
        raise NotImplementedError

    def read_out(self, outputs: Mapping[str, torch.Tensor]) -> Tensors:
        """The ``readouts`` ports from the outputs of :meth:`driven` (e.g. a decoder trained by a teacher
        signal); row by row, so that the engine's rollout can run it once over all steps."""
        raise NotImplementedError

    def teachers(self) -> dict[str, Teacher]:
        """The teacher signals this region learns from, by name (sizes from the region's params); ``{}`` if none."""
        return {}

    def auxiliary_losses(self, outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> Tensors:
        """Auxiliary (teacher) losses, each a scalar averaged over time and batch, named as its teacher.

        ``outputs`` holds this region's output ports over a rollout, ``[T, B, ...]``;
        ``targets`` holds the signals of :meth:`teachers`, ``[T, B, ...]``, and an optional
        ``"mask"`` ``[T, B]`` (1 where the step is valid).
        """
        return {}


REGISTRY: dict[str, type[Region]] = {}


def register(type_name: str):
    """Class decorator: make a region available to connectomes as ``type: <type_name>``."""

    def decorate(cls: type[Region]) -> type[Region]:
        if type_name in REGISTRY and REGISTRY[type_name] is not cls:
            raise ValueError(f"region type {type_name!r} is registered twice")
        REGISTRY[type_name] = cls
        cls.type_name = type_name
        return cls

    return decorate


def build_region(type_name: str, input_shapes: Mapping[str, Shape], params: Mapping[str, Any]) -> Region:
    """Instantiate a registered region type (the engine validates names before calling this)."""
    return REGISTRY[type_name](input_shapes, **params)


def complete_params(type_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the constructor defaults of region type ``type_name`` written out (tuples as lists, as in
    YAML): what the region was built with, so that it stays known when a default changes."""
    signature = inspect.signature(REGISTRY[type_name].__init__).parameters.values()
    defaults = {p.name: list(p.default) if isinstance(p.default, tuple) else p.default for p in signature
                if p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {**defaults, **params}
