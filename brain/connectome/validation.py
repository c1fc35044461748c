"""Validation of a connectome against the region registry, before any tensor exists.

Checks names, types, ports, required inputs, zero-delay cycles, ``policy``/``value`` and lesions
(which must leave a pathway from ``env`` to the actor and the critic), and raises the first
problem as a :class:`~brain.errors.ConnectomeError` at its file and line.
Shapes are checked later, while the regions are built (:mod:`brain.connectome.wiring`).
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Iterator

import networkx as nx

from brain.connectome.schema import CONNECTION_RE, Connectome, Loc, PortRef

#: Longest connection ``delay`` in agent steps (a delayed edge keeps that many past outputs per worker).
MAX_DELAY = 10_000
#: Largest whole number in a region's ``params`` (units, channels, capacity ...): 2**24.
MAX_SIZE = 1 << 24
#: Largest axis of an ``inputs:`` shape (an image side, a vector length).
MAX_INPUT_AXIS = 4096


def _registry(connectome: Connectome) -> dict:
    """Every region type: the package's, installed plugins' (importing ``regions`` loads both) and the
    modules the connectome's ``imports:`` names."""
    import regions

    for index, module in enumerate(connectome.imports):
        try:
            importlib.import_module(module)
        except Exception as error:  # the user's module: any failure is theirs to see, at this line
            raise connectome.error(("imports", index), f"cannot import {module!r}: {type(error).__name__}: {error}",
                                   "make the module importable: run from the folder that holds its package, add "
                                   "that folder to PYTHONPATH, or pip install the package") from None
    return regions.REGISTRY


def validate(connectome: Connectome) -> None:
    """Check names, types, ports, required inputs, zero-delay cycles and lesions against the registry.

    Shapes are checked later, by the engine, because they need the built regions.

    Raises:
        ConnectomeError: the first problem found.
    """
    registry = _registry(connectome)
    _check_numbers(connectome)
    for name, spec in connectome.regions.items():
        if spec.type not in registry:
            raise connectome.error(("regions", name, "type"), f"unknown region type {spec.type!r}; known types: "
                                   f"{', '.join(sorted(registry))}",
                                   f"use one of the known types; for a region of your own, name its module in "
                                   f"the connectome (`imports: [my_lab.{spec.type}]`) or in your package's entry "
                                   f"points (group brain_inspired_a3c.regions), and decorate its class with "
                                   f"@register({spec.type!r}) (docs/regions.md)")
    seen: dict[tuple, int] = {}
    for index, conn in enumerate(connectome.connections):
        _check_source(connectome, index, conn.source)
        if conn.source.region == "env" and conn.delay:
            raise connectome.error(("connections", index, "delay"), f"'{conn.source}' is an environment port, which "
                                   f"the engine feeds only at the step it is observed (delay {conn.delay})",
                                   f"drop the delay (`- {conn.source} -> {conn.target}`); to see the past, read a "
                                   f"region that keeps state, or delay that region's output")
        _check_target(connectome, registry, index, conn.target)
        key = (conn.source, conn.target, conn.delay)
        if key in seen:
            line = connectome.where(("connections", seen[key])).line
            raise connectome.error(("connections", index), f"duplicate connection {conn} (also at line {line})",
                                   "keep one of them")
        seen[key] = index
    _check_required_inputs(connectome, registry)
    _check_cycles(connectome)
    for key in ("policy", "value"):
        ref = getattr(connectome, key)
        if ref.region not in connectome.regions:
            raise connectome.error((key,), f"`{key}: {ref}` names no region; regions are: "
                                   f"{', '.join(connectome.regions)}", f"point `{key}:` at a region's output port")
    _check_lesions(connectome)
    _check_lesions_keep_env_paths(connectome)


def _check_source(connectome: Connectome, index: int, ref: PortRef) -> None:
    loc = ("connections", index)
    if ref.region == "env":
        if ref.port not in connectome.inputs:
            raise connectome.error(loc, f"unknown environment port '{ref}'; `inputs:` declares "
                                   f"{', '.join(connectome.inputs) or 'none'}",
                                   f"declare it under `inputs:` with its shape, or use one of those")
    elif ref.region not in connectome.regions:
        raise connectome.error(loc, f"unknown region {ref.region!r} in '{ref}'; regions are: env, "
                               f"{', '.join(connectome.regions)}",
                               f"define {ref.region!r} under `regions:`, or correct the name")


def _check_target(connectome: Connectome, registry: dict, index: int, ref: PortRef) -> None:
    loc = ("connections", index)
    if ref.region == "env":
        raise connectome.error(loc, f"'{ref}' is an environment port, which cannot receive a connection",
                               "use env ports only on the left of `->`")
    if ref.region not in connectome.regions:
        raise connectome.error(loc, f"unknown region {ref.region!r} in '{ref}'; regions are: "
                               f"{', '.join(connectome.regions)}",
                               f"define {ref.region!r} under `regions:`, or correct the name")
    spec = connectome.regions[ref.region]
    ports = registry[spec.type].inputs
    if ref.port not in ports:
        raise connectome.error(loc, f"unknown input port '{ref}'; {ref.region} (type {spec.type}) has input "
                               f"ports {', '.join(ports) or 'none'}", "use one of those ports")


def _check_required_inputs(connectome: Connectome, registry: dict) -> None:
    wired = {conn.target for conn in connectome.connections}
    for name, spec in connectome.regions.items():
        for port, declared in registry[spec.type].inputs.items():
            if declared.required and PortRef(name, port) not in wired:
                doc = f" ({declared.doc})" if declared.doc else ""
                raise connectome.error(("regions", name), f"required input '{name}.{port}'{doc} has no source",
                                       f"add a connection into it, e.g. `- SOURCE.PORT -> {name}.{port}`")


def _check_cycles(connectome: Connectome) -> None:
    graph = connectome.graph()
    zero = nx.MultiDiGraph([(u, v, k) for u, v, k, d in graph.edges(keys=True, data="delay") if d == 0])
    try:
        cycle = nx.find_cycle(zero)
    except nx.NetworkXNoCycle:
        return
    names = " -> ".join([cycle[0][0], *(edge[1] for edge in cycle)])
    indices = [edge[2] for edge in cycle]
    lines = ", ".join(str(connectome.where(("connections", i)).line) for i in indices)
    last = connectome.connections[indices[-1]]
    raise connectome.error(("connections", indices[-1]),
                           f"zero-delay cycle {names} (connections at lines {lines}): each region would need "
                           f"the others' output of the same step",
                           f"give one connection of the cycle a delay, e.g. `- {{from: {last.source}, to: "
                           f"{last.target}, delay: 1}}` (it then reads the previous step's value)")


def _check_lesions(connectome: Connectome) -> None:
    roles = {connectome.policy.region: ("policy", "actor"), connectome.value.region: ("value", "critic")}
    for key, mode in connectome.lesions.items():
        loc = ("lesions", key)
        match = CONNECTION_RE.match(key)
        if match:
            if not any((match.group(1), match.group(2)) == (str(c.source), str(c.target))
                       for c in connectome.connections):
                raise connectome.error(loc, f"lesion of an unknown connection {key!r}",
                                       "write it exactly as `source.port -> target.port` of a listed connection")
            if mode != "remove":
                raise connectome.error(loc, f"bad lesion mode {mode!r} for a connection: only `remove` applies",
                                       f"write `{key}: remove`, or lesion a region instead")
        elif key not in connectome.regions:
            raise connectome.error(loc, f"lesion of an unknown region {key!r}; regions are: "
                                   f"{', '.join(connectome.regions)}", "correct the name")
        elif mode == "remove" and key in roles:
            field, role = roles[key]
            raise connectome.error(loc, f"no {role} left: removing {key} removes `{field}: "
                                   f"{getattr(connectome, field)}`",
                                   f"silence it instead (`{key}: silence`), or point `{field}:` at another "
                                   f"region's output port")


def _check_lesions_keep_env_paths(connectome: Connectome) -> None:
    """Lesions must leave a pathway from the environment to the actor and to the critic.

    Removing every region (or connection) between ``env`` and the ``policy:`` region would
    otherwise zero-fill its inputs and compile a brain whose actions ignore every observation.
    """
    removed = {key for key, mode in connectome.lesions.items() if mode == "remove" and key in connectome.regions}
    full = connectome.graph()
    lesioned = full.copy()
    lesioned.remove_nodes_from(removed)
    lesioned.remove_edges_from([(u, v, k) for u, v, k, lesion in full.edges(keys=True, data="lesion")
                                if lesion == "remove" and u not in removed and v not in removed])
    for field, role in (("policy", "actor"), ("value", "critic")):
        region = getattr(connectome, field).region
        if region in removed or not nx.has_path(full, "env", region) or nx.has_path(lesioned, "env", region):
            continue
        upstream = nx.ancestors(full, region) | {region}
        culprits = [key for key in connectome.lesions
                    if (key in removed and key in upstream) or _lesioned_target(key) in upstream]
        raise connectome.error(("lesions", culprits[-1]), f"no pathway from the environment to the {role} left: "
                               f"with {', '.join(culprits)} removed, {region} (`{field}: "
                               f"{getattr(connectome, field)}`) receives nothing that depends on an env port",
                               f"remove fewer of the regions or connections between env and {region}, or connect "
                               f"an env port or a surviving region to {region}")


def _lesioned_target(key: str) -> str | None:
    """The target region of a connection lesion ``"a.out -> b.in"``; None for a region lesion."""
    match = CONNECTION_RE.match(key)
    return match.group(2).split(".")[0] if match else None


def _numbers(value: Any, loc: Loc) -> Iterator[tuple[Loc, int | float]]:
    """Every number in a params value (lists and mappings walked), with where it is written; bools are not numbers."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield loc, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _numbers(item, (*loc, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*loc, key))


def _check_numbers(connectome: Connectome) -> None:
    """Numbers that would make NaNs or exhaust memory: non-finite values and sizes above the documented limits."""
    for index, conn in enumerate(connectome.connections):
        loc = ("connections", index, "delay")
        if conn.delay > MAX_DELAY:
            raise connectome.error(loc, f"delay {conn.delay:,} is above the limit of {MAX_DELAY:,} steps (a delayed "
                                   f"edge keeps every step's output for that long)",
                                   f"write a delay of at most {MAX_DELAY:,} agent steps (1 reads the previous step)")
        if conn.weight is not None and not math.isfinite(conn.weight):
            raise connectome.error(("connections", index, "weight"), f"weight {conn.weight} is not a finite number",
                                   "write a number (the edge's width in plots), or drop `weight`")
    for key, shape in connectome.inputs.items():
        if max(shape) > MAX_INPUT_AXIS:
            raise connectome.error(("inputs", key), f"shape {list(shape)} of env.{key} has an axis above the limit "
                                   f"of {MAX_INPUT_AXIS:,}", f"write a shape whose axes are at most {MAX_INPUT_AXIS:,}, "
                                   f"e.g. `{key}: [3, 84, 84]` for an image")
    for name, spec in connectome.regions.items():
        if spec.position is not None and not all(math.isfinite(x) for x in spec.position):
            raise connectome.error(("regions", name, "position"), f"position {list(spec.position)} holds a value "
                                   "that is not a finite number", "write three finite coordinates, e.g. "
                                   "`position: [7507, 3254, 8264]`, or drop `position`")
        for loc, value in _numbers(spec.params, ("regions", name, "params")):
            param = ".".join(str(part) for part in loc[3:])
            if not math.isfinite(value):
                raise connectome.error(loc, f"params.{param} is {value}, not a finite number (it would make every "
                                       f"output NaN)", f"write a finite number for {param}")
            if isinstance(value, int) and abs(value) > MAX_SIZE:
                raise connectome.error(loc, f"params.{param} is {value:,}, above the limit of {MAX_SIZE:,} for a "
                                       f"whole number in params (a size this large cannot fit in memory)",
                                       f"write a size of at most {MAX_SIZE:,} (wba uses 12 to 500,000)")
