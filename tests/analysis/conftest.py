"""Fake run directories written with the trainer's own writers (EpisodeTable, TrainConfig, tensorboardX)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Sequence

import pytest
from tensorboardX import SummaryWriter

from brain.config import TrainConfig
from brain.rundir import EpisodeTable

MakeRun = Callable[..., Path]


def write_run(run_dir: Path, successes: dict[str, Sequence[bool]], connectome: str = "wba", workers: int = 2,
              steps_per_episode: int = 50, losses: dict[str, Sequence[float]] | None = None) -> Path:
    """A run directory whose episodes alternate between workers, task by task in the given order."""
    run_dir.mkdir(parents=True)
    (run_dir / "connectome.yaml").write_text(f"name: {connectome}\ndescription: test\n")
    TrainConfig(connectome=connectome, task=next(iter(successes)), out=str(run_dir)).to_yaml(run_dir / "config.yaml")
    table = EpisodeTable(run_dir / "episodes.csv")
    step = 0
    for task, outcomes in successes.items():
        for index, success in enumerate(outcomes):
            step += steps_per_episode
            table.append({"time": 1000.0 + step, "worker": index % workers, "task": task, "steps": steps_per_episode,
                          "ticks": 10 * steps_per_episode, "return": 2.0 if success else -1.0, "success": bool(success),
                          "global_step": step})
    table.close()
    if losses is not None:
        writer = SummaryWriter(str(run_dir / "tb"))
        for tag, values in losses.items():
            for point, value in enumerate(values):
                writer.add_scalar(tag, value, 20 * (point + 1))
        writer.close()
    return run_dir


def _plotted(page: str) -> list[tuple[list[dict], dict]]:
    """(traces, layout) of each ``Plotly.newPlot("id", traces, layout, config)`` call in a page."""
    decoder, figures = json.JSONDecoder(), []
    for call in re.finditer(r"Plotly\.newPlot\(", page):
        values, position = [], call.end()
        for _ in range(3):  # id, traces, layout
            value, position = decoder.raw_decode(page, re.compile(r"[\s,]*").match(page, position).end())
            values.append(value)
        figures.append((values[1], values[2]))
    return figures


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    return lambda name, *args, **kwargs: write_run(tmp_path / name, *args, **kwargs)


@pytest.fixture
def plotted() -> Callable[[str], list[tuple[list[dict], dict]]]:
    """Reads back the figures of a written page, as the browser gets them."""
    return _plotted
