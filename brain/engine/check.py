"""What ``python -m brain.run --check`` prints: the compiled graph as plain tables.

Regions (type, execution phase, position, parameter count, state, lesion), ports with their
resolved shapes and sources, connections with delays and lesions, teacher signals with their loss
weights, execution phases and the total number of parameters. :func:`dry_run` runs one small
training pass first, so that a brain ``--check`` accepts also trains. Uses ``rich`` tables with ASCII borders, so the output stays
readable in a plain terminal, a pipe or a log file.
"""

from __future__ import annotations

import shutil
from typing import IO

import numpy as np
import torch
from rich import box
from rich.console import Console
from rich.table import Table

from brain.engine import Brain
from brain.errors import ConnectomeError
from regions.base import TeacherInput


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


def teacher_table(brain: Brain) -> Table:
    """Every teacher signal a region learns from: what it reads, its shape and its loss weight."""
    table = _table("teacher signals (auxiliary losses)", "loss", "reads info", "shape", "weight", "fits port",
                   "signal")
    for key, teacher in brain.teachers.items():
        port = f"{key.split('/')[0]}.{teacher.port}" if teacher.port else "-"
        table.add_row(key, ", ".join(teacher.info_keys) or "(reward)", _shape(teacher.shape),
                      f"{brain.aux_weights[key]:g}", port, teacher.doc)
    return table


#: Entries per action of the memory that :func:`dry_run` gives a memory-holding region.
DRY_RUN_MEMORY = 16


def dry_run(brain: Brain, steps: int = 2) -> None:
    """One training pass of ``steps`` steps of blank observations, with every teacher's signal of an agent
    standing at the origin of the 1-D maze, as a run's first update would compute it. A region that holds
    a memory gets a small new one (so use this on a brain built for checking, not one that trains).

    Raises:
        ConnectomeError: what would have crashed the run (a teacher whose signal does not fit its
            region's output, a loss named after no teacher, a non-finite loss), naming the problem.
    """
    from tasks import INFO_KEYS

    obs = {key: torch.zeros(steps, 1, *shape, dtype=torch.uint8 if key == "rgb" else torch.float32)
           for key, shape in brain.input_shapes.items()}
    info = {key: None for key in INFO_KEYS} | {"pose": np.zeros(3, np.float32), "maze": "onedim", "task": "1-1"}
    try:
        for region in brain.regions.values():
            if region.holds_memory:  # a small memory of the same kind: its parameters are checked, little allocated
                region.attach_memory(region.make_memory(capacity=DRY_RUN_MEMORY))
        seq = brain.rollout(obs, brain.initial_state(1))
        targets = brain.teacher_targets(TeacherInput([[info]] * steps, np.zeros((steps, 1), np.float32)))
        losses = brain.auxiliary_losses(seq.activity, targets)
    except (ValueError, KeyError, RuntimeError, TypeError) as error:
        raise ConnectomeError(f"a training pass of this brain fails: {error}", file=brain.connectome.file,
                              field="regions", fix="make each region's teachers() and auxiliary_losses() agree "
                                                   "(docs/regions.md, \"Add a region\")") from None
    bad = [key for key, loss in losses.items() if not torch.isfinite(loss)]
    if bad:
        raise ConnectomeError(f"the auxiliary losses {bad} are not finite on blank observations",
                              file=brain.connectome.file, field="regions", fix="check those regions' params")


def print_check(brain: Brain, file: IO[str] | None = None) -> None:
    """Print the compiled graph of ``brain`` (to stdout by default)."""
    console = Console(file=file, width=max(120, shutil.get_terminal_size((120, 40)).columns), highlight=False)
    connectome = brain.connectome
    console.print(f"connectome {connectome.name} ({connectome.file}): {connectome.description}", soft_wrap=True)
    console.print(f"space: {connectome.space or '-'}; inputs: "
                  + ", ".join(f"env.{key} {_shape(shape)}" for key, shape in connectome.inputs.items())
                  + f"; policy: {connectome.policy}; value: {connectome.value}", soft_wrap=True)
    for table in (region_table(brain), port_table(brain), connection_table(brain), teacher_table(brain)):
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
