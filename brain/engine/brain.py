"""The graph engine: a connectome compiled once into a flat schedule of region calls.

load -> validate -> compile -> step / rollout::

    brain = Brain.from_connectome("wba")             # load + validate (brain.connectome), wire (its wiring)
    state = brain.initial_state(batch_size=1)        # region states + delayed-edge buffers, all zeros
    out, state = brain.step(obs, state, reset)       # out.logits [B, A], out.value [B], out.activity
    seq = brain.rollout(obs_seq, state, resets)      # the same over [T, B, ...]; seq.state is the final state

Data moves between regions in one mapping keyed by where each value comes from (a port, a
delayed edge, a zero fill: :mod:`brain.engine.schedule`); ``activity`` names the outputs
``"region.port"``. A port fed by several sources gets them concatenated on the last axis, in
connection order. A delayed edge reads a buffer in the state, so ``step`` is a pure function of
``(obs, state)`` and a rollout can be replayed from a saved state.

Lesions: ``remove`` is applied while wiring (:mod:`brain.connectome.wiring`); ``silence`` replaces a region's
outputs by zeros (no gradient flows back into it) and a fraction ``p`` multiplies each output by a
fixed mask that zeroes ``round(p * units)`` units, chosen by a generator seeded from the port name.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from brain.connectome import Connectome, PortRef, load_connectome
from brain.connectome.wiring import wire
from brain.engine.schedule import (Call, Delayed, Ports, Segment, ValueKey, delay_buffers, input_keys, schedule,
                                   zero_fills)
from regions.base import Shape, Teacher, TeacherInput, complete_params
from regions.loop_weights import gradients_per_loop

Tensors = dict[str, torch.Tensor]
Values = dict[ValueKey, torch.Tensor]  # what the regions read and write during a step (or a folded segment)


@dataclass
class StepOutput:
    """What one step (``[B, ...]``) or a rollout (``[T, B, ...]``) produces.

    Attributes:
        logits: the ``policy:`` port, ``[B, A]``.
        value: the ``value:`` port without its unit axis, ``[B]``.
        activity: every region output, ``"region.port" -> tensor`` (the tensors themselves, no copies).
    """

    logits: torch.Tensor
    value: torch.Tensor
    activity: Tensors


@dataclass
class SequenceOutput(StepOutput):
    """A rollout's outputs, ``[T, B, ...]``, plus ``state``: the state after its last step."""

    state: Tensors


class Brain(nn.Module):
    """A brain compiled from a connectome; an ``nn.Module`` whose children are the regions.

    Attributes:
        connectome: the resolved :class:`~brain.connectome.Connectome` (``connectome.to_yaml()``).
        regions: ``nn.ModuleDict`` of the built regions (removed ones are absent).
        input_shapes: environment port -> shape (the connectome's ``inputs:``).
        links: the connections that survived the lesions, ``(index in connectome.connections, connection)``.
        phases: execution phases, lists of region names (``nx.topological_generations``).
        time_folded: regions that ``rollout`` runs once over ``[T * B, ...]``: stateless, read through no
            delayed edge, and on no cycle of the graph.
        graph: the full connectome graph (:meth:`Connectome.graph`), lesioned nodes and edges marked.
        teachers: ``"region/name" -> Teacher`` of every region that learns from a teacher signal (a
            silenced region learns nothing and is left out).
        aux_weights: weight of each auxiliary loss, ``"region/name"``: the region's ``aux_weights:`` in
            the connectome, else its teacher's default.
    """

    def __init__(self, connectome: Connectome):
        super().__init__()
        wiring = wire(connectome)
        self.connectome, self.graph, self.phases = connectome, connectome.graph(), wiring.phases
        self.input_shapes: dict[str, Shape] = dict(connectome.inputs)
        self.regions = nn.ModuleDict(wiring.regions)
        self.links = wiring.links
        self._output_shapes = wiring.output_shapes
        self._policy, self._value = str(connectome.policy), str(connectome.value)
        self._zero_fill = zero_fills(wiring)
        self._delayed = delay_buffers(wiring)
        sources = input_keys(wiring)
        self._calls = [self._compile_call(name, sources[name]) for phase in self.phases for name in phase]
        self._segments = schedule(self._calls, wiring.links, self._delayed, self._zero_fill)
        self.time_folded = tuple(name for segment in self._segments if segment.folded
                                 for name in (call.name for call in segment.calls))
        self._env_keys = tuple((key, PortRef("env", key)) for key in self.input_shapes)
        self._delayed_reads = tuple((buffer.key, tuple((d - 1, Delayed(source, d)) for d in range(1, buffer.delay + 1)))
                                    for source, buffer in self._delayed.items())  # (state key, (index, value key))
        refs = {str(ref): ref for call in self._calls for _, ref in call.outputs}
        self._output_keys = tuple((key, refs[key]) for key in self._output_shapes)  # ("region.port", its value key)
        self.teachers, self.aux_weights = self._teachers()

    @classmethod
    def from_connectome(cls, source: str | os.PathLike, lesions: Mapping[str, Any] | None = None) -> Brain:
        """Load (bundled name or path), validate and compile a connectome.

        Example:
            >>> brain = Brain.from_connectome("wba", lesions={"hippocampus": "remove"})
        """
        return cls(load_connectome(source, lesions=lesions))

    def _compile_call(self, name: str, sources: dict[str, list[ValueKey]]) -> Call:
        region = self.regions[name]
        lesion = self.connectome.lesions.get(name)
        if isinstance(lesion, float):
            for port, shape in region.output_shapes.items():
                self.register_buffer(_mask_name(name, port), _lesion_mask(f"{name}.{port}", shape, lesion),
                                     persistent=False)
        ports = tuple((port, tuple(keys)) for port, keys in sources.items())
        drives = set(region.drives) if region.has_drive else set()
        state_keys = tuple((f"{name}/{key}", key) for key in region.initial_state(1))
        outputs = tuple((port, PortRef(name, port)) for port in region.output_shapes)
        return Call(name, region, ports, tuple(p for p in ports if p[0] in drives),
                    tuple(p for p in ports if p[0] not in drives), state_keys, lesion, outputs)

    def resolved_yaml(self) -> str:
        """The connectome as YAML with each region's ``params`` complete, its defaults written out: what a run
        directory stores, so that the run stays reproducible when a default changes."""
        regions = {name: spec.model_copy(update={"params": complete_params(spec.type, spec.params)})
                   for name, spec in self.connectome.regions.items()}
        return self.connectome.model_copy(update={"regions": regions}).to_yaml()

    def output_shapes(self) -> dict[str, Shape]:
        """``"region.port" -> shape`` of every output in ``activity``."""
        return dict(self._output_shapes)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> Tensors:
        """Start-of-episode state: each region's ``initial_state`` and zeroed delayed-edge buffers (on ``device``)."""
        state = {}
        for call in self._calls:
            region_state = call.region.initial_state(batch_size)
            state.update({key: region_state[short] for key, short in call.state_keys})
        for buffer in self._delayed.values():
            state[buffer.key] = torch.zeros(batch_size, buffer.delay, *buffer.shape)
        if device is not None and torch.device(device).type != "cpu":
            state = {key: value.to(device) for key, value in state.items()}
        return state

    # --- execution ---------------------------------------------------------------------------------
    def step(self, obs: Mapping[str, torch.Tensor], state: Tensors,
             reset: torch.Tensor | None = None) -> tuple[StepOutput, Tensors]:
        """One step for a batch: ``obs`` holds the ``env`` ports ``[B, ...]``; ``reset[b]`` restarts row b."""
        first = next(iter(obs.values()))
        state = self._reset(state, reset)
        values = {name: obs[key] for key, name in self._env_keys}
        values.update({key: torch.zeros(first.shape[0], *shape, device=first.device)
                       for key, shape in self._zero_fill.items()})
        self._read_buffers(values, state)
        next_state: Tensors = {}
        self._run(self._calls, values, state, next_state)
        self._push_buffers(values, state, next_state, tuple(self._delayed))
        activity = {name: values[key] for name, key in self._output_keys}
        return StepOutput(activity[self._policy], activity[self._value][..., 0], activity), next_state

    def rollout(self, obs_seq: Mapping[str, torch.Tensor], state: Tensors,
                resets: torch.Tensor | None = None) -> SequenceOutput:
        """``T`` steps at once (``obs_seq`` ``[T, B, ...]``, ``resets`` ``[T, B]``), equal to ``T`` calls of step.

        The schedule's segments run in order: a folded segment (stateless regions off every cycle)
        once with time folded into the batch axis, a recurrent one step by step over its own part
        of the state, with the state-free drive of its regions (their input-to-hidden terms)
        computed folded beforehand. Folding runs big layers as one batched call instead of ``T``
        small ones, forward and backward.
        """
        first = next(iter(obs_seq.values()))
        steps, batch = first.shape[:2]
        sequences: Values = {ref: obs_seq[key] for key, ref in self._env_keys}
        final_state: Tensors = {}
        for segment in self._segments:
            if segment.folded:
                values = self._zeros(segment, steps * batch, first.device)
                values.update({key: sequences[key].flatten(0, 1) for key in segment.reads})
                self._run(segment.calls, values, {}, {})
                sequences.update({key: values[key].unflatten(0, (steps, batch)) for key in segment.writes})
            else:
                with gradients_per_loop():  # weights used every step get one gradient matmul for the loop
                    final_state.update(self._step_by_step(segment, sequences, state, resets, steps, batch))
        activity = {name: sequences[key] for name, key in self._output_keys}
        return SequenceOutput(activity[self._policy], activity[self._value][..., 0], activity, final_state)

    def _step_by_step(self, segment: Segment, sequences: Values, state: Tensors, resets: torch.Tensor | None,
                      steps: int, batch: int) -> Tensors:
        """Run a recurrent segment over the rollout; adds its outputs ``[T, B, ...]`` to ``sequences``
        and returns its part of the state after the last step."""
        own = {key: state[key] for key in segment.state_keys}
        device = next(iter(sequences.values())).device
        drives = self._drives(segment, sequences, steps, batch, device)
        per_step = []
        for t in range(steps):
            own = self._reset(own, None if resets is None else resets[t])
            values = self._zeros(segment, batch, device)
            values.update({key: sequences[key][t] for key in segment.reads})
            self._read_buffers(values, own)
            next_own: Tensors = {}
            self._run(segment.calls, values, own, next_own,
                      {name: {key: parts[t] for key, parts in drive.items()} for name, drive in drives.items()},
                      segment.read_later)
            self._push_buffers(values, own, next_own, segment.buffers)
            per_step.append(values)
            own = next_own
        sequences.update({key: torch.stack([values[key] for values in per_step])
                          for key in segment.writes if key in per_step[0]})
        for call in segment.calls:
            if call.name in segment.read_later:
                self._read_out(call, sequences, steps, batch)
        return own

    @staticmethod
    def _read_out(call: Call, sequences: Values, steps: int, batch: int) -> None:
        """A call's ``readouts`` ports over the whole rollout, time folded into the batch axis."""
        region = call.region
        outputs = {port: sequences[key].flatten(0, 1) for port, key in call.outputs if port not in region.readouts}
        read = region.read_out(outputs)
        sequences.update({key: read[port].unflatten(0, (steps, batch)) for port, key in call.outputs if port in read})

    @staticmethod
    def _zeros(segment: Segment, batch: int, device: torch.device) -> Values:
        return {key: torch.zeros(batch, *shape, device=device) for key, shape in segment.zeros.items()}

    def _drives(self, segment: Segment, sequences: Values, steps: int, batch: int,
                device: torch.device) -> dict[str, dict[str, tuple[torch.Tensor, ...]]]:
        """The ``driven`` calls' drives, computed with time folded into the batch axis: name -> key -> T steps."""
        if not segment.driven:
            return {}
        values = self._zeros(segment, steps * batch, device)
        values.update({key: sequences[key].flatten(0, 1) for key in segment.reads})
        drives = {}
        for call in segment.calls:
            if call.name in segment.driven:
                drive = call.region.drive(self._inputs(call.drive_inputs, values))
                drives[call.name] = {key: value.unflatten(0, (steps, batch)).unbind(0) for key, value in drive.items()}
        return drives

    def _read_buffers(self, values: Values, state: Tensors) -> None:
        """Delayed-edge reads (:class:`~brain.engine.schedule.Delayed`) from the buffers that ``state`` holds."""
        for key, reads in self._delayed_reads:
            if key in state:
                buffer = state[key]
                for index, name in reads:
                    values[name] = buffer.select(1, index)

    @staticmethod
    def _inputs(ports: Ports, values: Values) -> Tensors:
        """A call's input ports from the values: one key each, or several concatenated on the last axis."""
        return {port: values[keys[0]] if len(keys) == 1 else torch.cat([values[key] for key in keys], -1)
                for port, keys in ports}

    def _run(self, calls: Sequence[Call], values: Values, state: Tensors, next_state: Tensors,
             drives: Mapping[str, Tensors] | None = None, read_later: frozenset[str] = frozenset()) -> None:
        """Run ``calls`` in order; each writes its outputs into ``values`` and its state into ``next_state``.

        A call named in ``drives`` (its drive computed beforehand) runs only the region's ``driven``
        part, and its ``read_out`` too unless it is named in ``read_later``.
        """
        for call in calls:
            state_keys = call.state_keys
            region_state = {short: state[key] for key, short in state_keys} if state_keys else {}
            drive = drives.get(call.name) if drives else None
            if drive is None:
                outputs, region_state = call.region(self._inputs(call.inputs, values), region_state)
            else:
                region = call.region
                outputs, region_state = region.driven(drive, self._inputs(call.other_inputs, values), region_state)
                if region.readouts and call.name not in read_later:
                    outputs = {**outputs, **region.read_out(outputs)}
            if call.lesion is not None:
                outputs = self._lesioned(call, outputs)
            for port, key in call.outputs:
                if port in outputs:  # all but the readouts read later
                    values[key] = outputs[port]
            for key, short in state_keys:
                next_state[key] = region_state[short]

    def _lesioned(self, call: Call, outputs: Tensors) -> Tensors:
        """A lesioned region's outputs: zeros (``silence``) or multiplied by the fixed unit masks (a fraction)."""
        if call.lesion == "silence":
            return {port: torch.zeros_like(value) for port, value in outputs.items()}
        return {port: value * getattr(self, _mask_name(call.name, port)) for port, value in outputs.items()}

    def _push_buffers(self, values: Values, state: Tensors, next_state: Tensors,
                      sources: tuple[PortRef, ...]) -> None:
        """Shift this step's value of each delayed source into its buffer."""
        for source in sources:
            key, delay, _ = self._delayed[source]
            newest = values[source].unsqueeze(1)
            next_state[key] = newest if delay == 1 else torch.cat([newest, state[key][:, :-1]], 1)

    def _reset(self, state: Tensors, reset: torch.Tensor | None) -> Tensors:
        """Rows with ``reset`` True start from the initial state (region states and buffers)."""
        if reset is None:
            return state
        reset = torch.as_tensor(reset, dtype=torch.bool)
        if not bool(reset.any()):
            return state
        reset = reset.reshape(-1)
        initial = self.initial_state(reset.shape[0], reset.device)
        return {key: torch.where(reset.view(-1, *[1] * (value.dim() - 1)), initial[key], value)
                for key, value in state.items()}

    # --- learning ----------------------------------------------------------------------------------
    def _teachers(self) -> tuple[dict[str, Teacher], dict[str, float]]:
        """Every region's teachers and loss weights, checked against the connectome and the environments."""
        from tasks import INFO_KEYS

        teachers, weights = {}, {}
        for name, region in self.regions.items():
            declared = region.teachers()
            for key in self.connectome.regions[name].aux_weights:
                if key not in declared:
                    raise self.connectome.error(
                        ("regions", name, "aux_weights", key), f"region {name!r} has no teacher {key!r}; its "
                        f"teachers: {', '.join(declared) or 'none'}", "use one of its teacher names, or remove the key")
            for key, teacher in declared.items():
                unknown = [info for info in teacher.info_keys if info not in INFO_KEYS]
                if unknown:
                    raise self.connectome.error(
                        ("regions", name, "type"), f"the teacher {key!r} of region type {self.connectome.regions[name].type!r} "
                        f"reads info {unknown}, which the environments do not supply (they supply: "
                        f"{', '.join(INFO_KEYS)})", "compute the teacher from the keys the environments supply")
                if teacher.port is not None and teacher.port not in region.output_shapes:
                    raise self.connectome.error(
                        ("regions", name, "type"), f"the teacher {key!r} of region type "
                        f"{self.connectome.regions[name].type!r} fits port {teacher.port!r}, which is not one of its "
                        f"output ports ({', '.join(region.output_shapes)})",
                        "name one of the region's output ports in Teacher(port=...), or None")
                if self.connectome.lesions.get(name) != "silence":
                    teachers[f"{name}/{key}"] = teacher
                    weights[f"{name}/{key}"] = self.connectome.regions[name].aux_weights.get(key, teacher.weight)
        return teachers, weights

    def teacher_targets(self, steps: TeacherInput) -> Tensors:
        """Every teacher's signal over a rollout, ``"region/name" -> [T, B, ...]``, and ``"mask"`` ``[T, B]``."""
        targets = {key: teacher.signal(steps) for key, teacher in self.teachers.items()}
        targets["mask"] = torch.ones(np.shape(steps.rewards))
        return targets

    def auxiliary_losses(self, activity: Mapping[str, torch.Tensor],
                         targets: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each region's teacher losses on its rollout outputs, as ``{"region/loss": scalar}``.

        ``targets`` holds the teacher signals ``[T, B, ...]`` keyed ``"region/name"`` (as
        :meth:`teacher_targets` gives them) and optionally ``"mask"`` ``[T, B]``. A region must name each
        loss after one of its teachers (that is where its weight comes from).
        """
        losses = {}
        for name, region in self.regions.items():
            names = [key.split("/", 1)[1] for key in self.teachers if key.split("/", 1)[0] == name]
            if not names:
                continue
            missing = [f"{name}/{key}" for key in names if f"{name}/{key}" not in targets]
            if missing:
                raise KeyError(f"auxiliary_losses: the teacher signal(s) {missing} are missing; targets holds "
                               f"{sorted(targets)} (Brain.teacher_targets computes them all)")
            wanted = {key: targets[f"{name}/{key}"] for key in names}
            if "mask" in targets:
                wanted["mask"] = targets["mask"]
            outputs = {port: activity[f"{name}.{port}"] for port in region.output_shapes}
            region_losses = region.auxiliary_losses(outputs, wanted)
            if set(region_losses) != set(names):
                raise ValueError(f"region {name!r} ({type(region).__name__}) returned the auxiliary losses "
                                 f"{sorted(region_losses)} for its teachers {sorted(names)}: return one loss per "
                                 f"teacher of teachers(), named after it (that is where its weight comes from)")
            losses.update({f"{name}/{loss}": value for loss, value in region_losses.items()})
        return losses

    def extra_repr(self) -> str:
        return f"connectome={self.connectome.name!r}, phases={self.phases}"


def _mask_name(region: str, port: str) -> str:
    return f"lesion_mask__{region}__{port}"


def _lesion_mask(key: str, shape: Shape, fraction: float) -> torch.Tensor:
    """Ones with ``round(fraction * units)`` zeros at positions fixed by the port name."""
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    units = int(torch.Size(shape).numel())
    mask = torch.ones(units)
    mask[torch.randperm(units, generator=generator)[: round(fraction * units)]] = 0.0
    return mask.reshape(shape)


__all__ = ["Brain", "SequenceOutput", "StepOutput"]
