"""The engine's schedule: which value feeds each port, and how :meth:`~brain.engine.Brain.rollout` groups the calls.

A brain step moves tensors between regions in one mapping whose keys say where a value comes from:

* :class:`~brain.connectome.PortRef` ``(region, port)``: a region's output this step, or ``("env", key)``
  for an environment port;
* :class:`Delayed` ``(source, delay)``: ``source``'s output ``delay`` steps ago, read from its buffer;
* :class:`ZeroFill` ``(target)``: zeros in place of a required port whose every source was lesioned.

The keys are NamedTuples, so they hash as fast as the tuples they are (the step looks them up in
its hot loop) and never equal one another: a PortRef holds two names, a Delayed a PortRef and a
number, a ZeroFill one PortRef.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple

import networkx as nx

from brain.connectome import PortRef
from brain.connectome.wiring import Links, Wiring
from regions.base import Region, Shape


class Delayed(NamedTuple):
    """The output ``source`` had ``delay`` steps ago (a delayed edge)."""

    source: PortRef
    delay: int


class ZeroFill(NamedTuple):
    """Zeros of ``target``'s shape: a required port whose every source was removed by a lesion."""

    target: PortRef


ValueKey = PortRef | Delayed | ZeroFill
#: A call's input ports: (port, the value keys concatenated into it, in connection order).
Ports = tuple[tuple[str, tuple[ValueKey, ...]], ...]


@dataclass(frozen=True)
class Call:
    """One entry of the schedule: run ``name`` on the values named in ``inputs``.

    Every key is made here once, at compile time, so that a step only looks keys up.
    """

    name: str
    region: Region
    inputs: Ports
    drive_inputs: Ports  # those of the region's ``drives`` ports
    other_inputs: Ports  # the rest: what ``driven`` still reads per step
    state_keys: tuple[tuple[str, str], ...]  # (key in the brain's state, key in the region's state)
    lesion: str | float | None
    outputs: tuple[tuple[str, PortRef], ...]  # (output port, its key in the values)


@dataclass(frozen=True)
class Segment:
    """Consecutive calls that :meth:`~brain.engine.Brain.rollout` runs together: folded over time, or step by step.

    ``reads``: value keys it takes from earlier segments (or ``env``); ``writes``: the keys it
    produces; ``state_keys``: its part of the state (region states and the delayed-edge buffers it
    reads; a buffer read by two segments is kept by both, identically); ``buffers``: the delayed
    sources whose buffers it shifts each step; ``zeros``: zero fills of unconnected optional ports;
    ``driven``: the calls of a step-by-step segment whose :meth:`~regions.base.Region.drive` runs
    once over the whole rollout (every source of their ``drives`` ports lies in an earlier segment);
    ``read_later``: those of them whose :meth:`~regions.base.Region.read_out` runs once after the
    steps (no region of the segment reads its ports, none feeds a delayed edge, no lesion).
    """

    calls: tuple[Call, ...]
    folded: bool
    reads: tuple[PortRef, ...]
    writes: tuple[PortRef, ...]
    state_keys: tuple[str, ...]
    buffers: tuple[PortRef, ...]
    zeros: dict[ZeroFill, Shape]
    driven: frozenset[str]
    read_later: frozenset[str]


class DelayBuffer(NamedTuple):
    """The past outputs of a delayed source: ``state[key]`` holds the last ``delay`` of them, ``[B, delay, *shape]``."""

    key: str
    delay: int
    shape: Shape


def zero_fills(wiring: Wiring) -> dict[ZeroFill, Shape]:
    """The zero fill of each required port that lost every source to a lesion, with its shape."""
    return {ZeroFill(PortRef(region, port)): shape for (region, port), shape in wiring.zero_fill.items()}


def input_keys(wiring: Wiring) -> dict[str, dict[str, list[ValueKey]]]:
    """Region -> port -> the value keys that feed it, in connection order (one zero fill for a lesioned port)."""
    sources: dict[str, dict[str, list[ValueKey]]] = {name: {} for name in wiring.regions}
    for _, conn in wiring.links:
        key = conn.source if conn.delay == 0 else Delayed(conn.source, conn.delay)
        sources[conn.target.region].setdefault(conn.target.port, []).append(key)
    for key in zero_fills(wiring):
        sources[key.target.region][key.target.port] = [key]
    return sources


def delay_buffers(wiring: Wiring) -> dict[PortRef, DelayBuffer]:
    """Each delayed source's buffer, as long as its longest delay."""
    delays: dict[PortRef, int] = {}
    for _, conn in wiring.links:
        if conn.delay:
            delays[conn.source] = max(conn.delay, delays.get(conn.source, 0))
    return {source: DelayBuffer(f"{source}@delay", delay, wiring.output_shapes[str(source)])
            for source, delay in delays.items()}


def schedule(calls: list[Call], links: Links, buffers: Mapping[PortRef, DelayBuffer],
             zero_fill: Mapping[ZeroFill, Shape]) -> list[Segment]:
    """Group the calls into segments for :meth:`~brain.engine.Brain.rollout`, in an order that respects every edge.

    A region must run step by step if it keeps state, reads a delayed edge, or lies on a cycle
    (a delayed edge closing a path back to its source); each strongly connected component of
    the graph (zero-delay and delayed edges) stays in one segment. Consecutive regions of the same
    kind share a segment.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(call.name for call in calls)
    graph.add_edges_from((conn.source.region, conn.target.region) for _, conn in links if conn.source.region != "env")
    delayed_targets = {conn.target.region for _, conn in links if conn.delay}
    order = {call.name: index for index, call in enumerate(calls)}
    by_name = {call.name: call for call in calls}
    condensed = nx.condensation(graph)
    groups = [sorted(condensed.nodes[node]["members"], key=order.__getitem__)
              for node in nx.lexicographical_topological_sort(
                  condensed, key=lambda node: min(order[m] for m in condensed.nodes[node]["members"]))]
    segments: list[list[Call]] = []
    kinds: list[bool] = []
    for members in groups:
        # a cycle has several members, or one reading itself through a delay (a delayed target)
        folded = len(members) == 1 and not by_name[members[0]].state_keys and members[0] not in delayed_targets
        if kinds and kinds[-1] == folded:
            segments[-1].extend(by_name[m] for m in members)
        else:
            segments.append([by_name[m] for m in members])
            kinds.append(folded)
    return [_segment(group, folded, buffers, zero_fill) for group, folded in zip(segments, kinds)]


def _segment(calls: list[Call], folded: bool, buffers: Mapping[PortRef, DelayBuffer],
             zero_fill: Mapping[ZeroFill, Shape]) -> Segment:
    names = {call.name for call in calls}
    needed = {key for call in calls for _, keys in call.inputs for key in keys}
    delayed = {key.source for key in needed if isinstance(key, Delayed)}
    shifted = tuple(source for source in buffers if source in delayed)
    outside = {key for key in needed if isinstance(key, PortRef)} | set(shifted)
    writes = tuple(key for call in calls for _, key in call.outputs)
    driven = frozenset(
        call.name for call in calls if not folded and call.drive_inputs
        and not any(isinstance(key, Delayed) or key in writes for _, keys in call.drive_inputs for key in keys))
    read_later = frozenset(
        call.name for call in calls if call.name in driven and call.region.readouts and call.lesion is None
        and not any(PortRef(call.name, port) in needed or PortRef(call.name, port) in buffers
                    for port in call.region.readouts))
    return Segment(
        calls=tuple(calls), folded=folded,
        reads=tuple(sorted(key for key in outside if key.region not in names)),
        writes=writes,
        state_keys=tuple(key for call in calls for key, _ in call.state_keys)
        + tuple(buffers[source].key for source in shifted),
        buffers=shifted,
        zeros={key: shape for key, shape in zero_fill.items() if key in needed},
        driven=driven, read_later=read_later)
