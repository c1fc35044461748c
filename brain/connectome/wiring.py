"""From a validated connectome to built regions: shapes resolved and checked, lesions applied.

A region sizes its layers from the shapes of its connected inputs, so regions are built in the
topological order of the zero-delay edges. This happens twice:

1. **Probe** (full, un-lesioned graph, on the ``meta`` device so it allocates nothing and draws no
   random numbers): learns every region's output shapes. An input from a delayed edge whose source
   comes later in the order is left out of the probe, which assumes (and step 3 checks) that a
   region's output shapes do not depend on its delayed inputs. Then every input port is resolved
   against all shapes, which checks delayed edges too.
2. **Lesions**: removed regions and removed connections are dropped. A consumer's concatenated
   input narrows; a required port left with no source at all is zero-filled with its original shape.
3. **Build**: the surviving regions are built for real, in order, and each output shape that a
   delayed edge relied on is compared with the probe's.

Every problem is a :class:`~brain.errors.ConnectomeError` at the connection or region it concerns.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import networkx as nx
import torch

from brain.connectome.schema import Connection, Connectome
from regions.base import REGISTRY, Region, Shape, build_region

Links = list[tuple[int, Connection]]  # (index in connectome.connections, connection)


@dataclass(frozen=True)
class Wiring:
    """What the engine compiles: built regions and the connections that survived the lesions.

    Attributes:
        regions: built regions, in connectome order.
        links: surviving connections with their index in ``connectome.connections``.
        zero_fill: ``(region, port) -> shape`` for required ports whose every source was removed.
        output_shapes: ``"region.port" -> shape`` of every built region.
        phases: execution phases (``nx.topological_generations`` of the zero-delay edges).
    """

    regions: dict[str, Region]
    links: Links
    zero_fill: dict[tuple[str, str], Shape]
    output_shapes: dict[str, Shape]
    phases: list[list[str]]


def wire(connectome: Connectome) -> Wiring:
    """Probe, check, lesion and build (module docstring). Raises ConnectomeError."""
    everything = list(enumerate(connectome.connections))
    _, probed = probe(connectome)
    full_inputs = {name: _input_shapes(connectome, name, everything, probed, set(connectome.regions))
                   for name in connectome.regions}

    removed = {name for name, mode in connectome.lesions.items() if mode == "remove" and name in connectome.regions}
    links = [(i, conn) for i, conn in everything if conn.source.region not in removed
             and conn.target.region not in removed and connectome.edge_lesion(conn) is None]
    survivors = [name for name in connectome.regions if name not in removed]
    zero_fill = _zero_fill(connectome, survivors, everything, links, full_inputs)

    known = dict(probed)
    built = _build_in_order(connectome, survivors, links, known, _real, zero_fill)
    for _, conn in links:
        source = str(conn.source)
        if conn.delay and known[source] != probed[source]:
            raise connectome.error(("regions", conn.source.region),
                                   f"output '{source}' has shape {known[source]} once built with its delayed inputs "
                                   f"but {probed[source]} without them", "make the region's output shapes depend on "
                                   "its params only (the delayed edge needs the shape before the region is built)")
    output_shapes = {key: shape for key, shape in known.items() if key.split(".")[0] in built}
    return Wiring(regions={name: built[name] for name in survivors}, links=links, zero_fill=zero_fill,
                  output_shapes=output_shapes, phases=phases(survivors, links))


def probe(connectome: Connectome) -> tuple[dict[str, Region], dict[str, Shape]]:
    """Every region built on the ``meta`` device (no memory) and every port's shape, ``"region.port"``.

    Step 1 of :func:`wire`; also what :mod:`brain.training.budget` sizes a brain by before it allocates anything.
    """
    probed = {f"env.{key}": shape for key, shape in connectome.inputs.items()}
    regions = _build_in_order(connectome, list(connectome.regions), list(enumerate(connectome.connections)),
                              probed, _probe)
    _check_actor_critic(connectome, probed)
    return regions, probed


def phases(names: list[str], links: Links) -> list[list[str]]:
    """Regions grouped by ``nx.topological_generations`` of the zero-delay edges (ties: ``names`` order)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_edges_from((c.source.region, c.target.region) for _, c in links
                         if c.delay == 0 and c.source.region in graph)
    rank = {name: i for i, name in enumerate(names)}
    return [sorted(generation, key=rank.__getitem__) for generation in nx.topological_generations(graph)]


def _build_in_order(connectome: Connectome, names: list[str], links: Links, known: dict[str, Shape],
                    make: Callable[[Connectome, str, dict[str, Shape]], Region],
                    zero_fill: dict[tuple[str, str], Shape] | None = None) -> dict[str, Region]:
    """Build ``names`` phase by phase; ``known`` gains each region's output shapes as ``"region.port"``."""
    built: dict[str, Region] = {}
    for name in [name for phase in phases(names, links) for name in phase]:
        shapes = _input_shapes(connectome, name, links, known, set(built))
        shapes.update({port: shape for (region, port), shape in (zero_fill or {}).items() if region == name})
        built[name] = make(connectome, name, shapes)
        known.update({f"{name}.{port}": tuple(shape) for port, shape in built[name].output_shapes.items()})
    return built


def _input_shapes(connectome: Connectome, name: str, links: Links, known: dict[str, Shape],
                  built: set[str]) -> dict[str, Shape]:
    """Resolved shape of each connected input port of ``name``; sources concatenate on the last axis.

    A source not in ``known`` is skipped when its region is not built yet (a delayed edge during the
    probe); when its region is built, the port does not exist and that is an error.
    """
    declared = REGISTRY[connectome.regions[name].type].inputs
    by_port: dict[str, list[tuple[int, Connection, Shape]]] = defaultdict(list)
    for index, conn in links:
        if conn.target.region != name:
            continue
        source = str(conn.source)
        if source not in known:
            if conn.source.region in built:
                region = connectome.regions[conn.source.region]
                outputs = sorted(key.split(".", 1)[1] for key in known if key.startswith(f"{conn.source.region}."))
                raise connectome.error(("connections", index), f"unknown output port '{source}'; "
                                       f"{conn.source.region} (type {region.type}) has output ports "
                                       f"{', '.join(outputs) or 'none'}", "use one of those ports")
            continue
        by_port[conn.target.port].append((index, conn, known[source]))
    return {port: _concatenate(connectome, declared[port].ndim, declared[port].shape, sources)
            for port, sources in by_port.items()}


def _concatenate(connectome: Connectome, ndim: int, shape: Shape | None,
                 sources: list[tuple[int, Connection, Shape]]) -> Shape:
    """Shape of the sources of one port concatenated on the last axis, checked against the port."""
    first_index, first, first_shape = sources[0]
    for index, conn, source_shape in sources:
        if len(source_shape) != ndim:
            raise connectome.error(("connections", index), f"'{conn.target}' takes {ndim}-axis input but "
                                   f"'{conn.source}' has shape {list(source_shape)} ({len(source_shape)} axes)",
                                   "connect a source with that many axes")
        if source_shape[:-1] != first_shape[:-1]:
            raise connectome.error(("connections", index), f"cannot concatenate '{first.source}' "
                                   f"{list(first_shape)} and '{conn.source}' {list(source_shape)} into "
                                   f"'{conn.target}': sources of one port concatenate on the last axis, so all "
                                   f"other axes must agree", "connect only sources of matching shapes to this port")
    total = (*first_shape[:-1], sum(source_shape[-1] for _, _, source_shape in sources))
    if shape is not None and total != tuple(shape):
        index, conn, _ = sources[-1]
        parts = " + ".join(f"'{c.source}' {list(s)}" for _, c, s in sources)
        raise connectome.error(("connections", index), f"size mismatch: '{conn.target}' needs shape {list(shape)} "
                               f"but gets {list(total)} from {parts}",
                               f"connect sources whose shapes give {list(shape)}, or change the source's params")
    return total


def _zero_fill(connectome: Connectome, survivors: list[str], everything: Links, links: Links,
               full_inputs: dict[str, dict[str, Shape]]) -> dict[tuple[str, str], Shape]:
    """Required ports that lost every source to a lesion, with their original (full-graph) shape."""
    wired_before = {(c.target.region, c.target.port) for _, c in everything}
    wired_now = {(c.target.region, c.target.port) for _, c in links}
    fill = {}
    for name in survivors:
        for port, declared in REGISTRY[connectome.regions[name].type].inputs.items():
            key = (name, port)
            if declared.required and key in wired_before and key not in wired_now:
                fill[key] = full_inputs[name][port]
    return fill


def _check_actor_critic(connectome: Connectome, shapes: dict[str, Shape]) -> None:
    for field, ndim, expected in (("policy", 1, "[A] (one logit per action)"), ("value", 1, "[1]")):
        ref = getattr(connectome, field)
        shape = shapes.get(str(ref))
        if shape is None:
            outputs = sorted(key.split(".", 1)[1] for key in shapes if key.startswith(f"{ref.region}."))
            raise connectome.error((field,), f"unknown output port '{ref}'; {ref.region} has output ports "
                                   f"{', '.join(outputs)}", f"point `{field}:` at one of them")
        if len(shape) != ndim or (field == "value" and shape != (1,)):
            raise connectome.error((field,), f"`{field}: {ref}` has shape {list(shape)}, expected {expected}",
                                   f"point `{field}:` at an output of shape {expected}")


def _probe(connectome: Connectome, name: str, shapes: dict[str, Shape]) -> Region:
    """Build on the meta device (no memory, no random numbers); fall back to CPU with the RNG forked."""
    try:
        with torch.device("meta"):
            return _real(connectome, name, shapes)
    except Exception:  # a region whose __init__ needs real values: build it for real, RNG untouched
        with torch.random.fork_rng(devices=[]):
            return _real(connectome, name, shapes)


def _real(connectome: Connectome, name: str, shapes: dict[str, Shape]) -> Region:
    spec = connectome.regions[name]
    try:
        return build_region(spec.type, shapes, spec.params)
    except Exception as exc:  # the boundary between user configuration and region code
        cls = REGISTRY[spec.type]
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "input_shapes")]
        raise connectome.error(("regions", name, "params") if spec.params else ("regions", name),
                               f"region {name} (type {spec.type}) could not be built with params {spec.params} "
                               f"and input shapes {shapes}: {type(exc).__name__}: {exc}",
                               f"check the params (accepted: {', '.join(accepted) or 'none'}) and the shapes "
                               f"wired into {name}") from exc
