"""What ``python -m brain.run --check`` prints: the compiled graph as plain tables.

Regions (type, execution phase, position, parameter count, state, lesion), ports with their
resolved shapes and sources, connections with delays and lesions, execution phases and the
total number of parameters. Uses ``rich`` tables with ASCII borders, so the output stays
readable in a plain terminal, a pipe or a log file.
"""

from __future__ import annotations

import shutil
from typing import IO

from rich import box
from rich.console import Console
from rich.table import Table

from brain.engine import Brain


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, box=box.ASCII, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _shape(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def region_table(brain: Brain) -> Table:
    """One row per region of the connectome, removed ones included."""
    table = _table("regions", "region", "type", "phase", "position", "parameters", "state", "lesion")
    phase_of = {name: i for i, phase in enumerate(brain.phases, 1) for name in phase}
    for name, spec in brain.connectome.regions.items():
        region = brain.regions[name] if name in brain.regions else None
        position = "-" if spec.position is None else ", ".join(f"{x:g}" for x in spec.position)
        params = "-" if region is None else f"{sum(p.numel() for p in region.parameters()):,}"
        state = "-" if region is None else ", ".join(region.initial_state(1)) or "none"
        table.add_row(name, spec.type, str(phase_of.get(name, "-")), position, params, state,
                      str(brain.connectome.lesions.get(name, "")))
    return table


def port_table(brain: Brain) -> Table:
    """Every connected input port (shape, sources) and every output port (shape) of the built regions."""
    table = _table("ports", "port", "direction", "shape", "sources (concatenated in this order)")
    sources: dict[str, list[str]] = {}
    for _, conn in brain.links:
        label = str(conn.source) + (f" (delay {conn.delay})" if conn.delay else "")
        sources.setdefault(str(conn.target), []).append(label)
    for name, region in brain.regions.items():
        for port, shape in region.input_shapes.items():
            key = f"{name}.{port}"
            feed = " + ".join(sources.get(key, [])) or "zeros (every source removed)"
            table.add_row(key, "in", _shape(shape), feed)
        for port, shape in region.output_shapes.items():
            table.add_row(f"{name}.{port}", "out", _shape(shape), "")
    return table


def connection_table(brain: Brain) -> Table:
    """Every connection of the connectome, with its delay, weight and whether a lesion removed it."""
    table = _table("connections", "#", "from", "to", "delay", "weight", "status")
    active = {index for index, _ in brain.links}
    for index, conn in enumerate(brain.connectome.connections):
        status = "active" if index in active else "removed (lesion)"
        weight = "" if conn.weight is None else f"{conn.weight:g}"
        table.add_row(str(index), str(conn.source), str(conn.target), str(conn.delay), weight, status)
    return table


def print_check(brain: Brain, file: IO[str] | None = None) -> None:
    """Print the compiled graph of ``brain`` (to stdout by default)."""
    console = Console(file=file, width=max(120, shutil.get_terminal_size((120, 40)).columns), highlight=False)
    connectome = brain.connectome
    console.print(f"connectome {connectome.name} ({connectome.file}): {connectome.description}", soft_wrap=True)
    console.print(f"space: {connectome.space or '-'}; inputs: "
                  + ", ".join(f"env.{key} {_shape(shape)}" for key, shape in connectome.inputs.items())
                  + f"; policy: {connectome.policy}; value: {connectome.value}", soft_wrap=True)
    for table in (region_table(brain), port_table(brain), connection_table(brain)):
        console.print()
        console.print(table)
    console.print("\nexecution phases (zero-delay topological generations):")
    for i, phase in enumerate(brain.phases, 1):
        console.print(f"  {i}. {', '.join(phase)}")
    folded = ", ".join(brain.time_folded) or "none"
    console.print(f"run once per rollout with time folded into the batch: {folded}")
    total = sum(p.numel() for p in brain.parameters())
    trainable = sum(p.numel() for p in brain.parameters() if p.requires_grad)
    console.print(f"total parameters: {total:,} ({trainable:,} trainable)")
