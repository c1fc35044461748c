"""Fake run directories written with the trainer's own writers (EpisodeTable, TrainConfig, tensorboardX),
and small real recordings of the tiny brain (``recorded.py``), made once per test session."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pytest
from tensorboardX import SummaryWriter

from brain.training.config import TrainConfig
from brain.training.rundir import EpisodeTable
from recorded import record_run

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
            table.append({"time": 1000.0 + step, "worker": index % workers, "env": 0, "task": task, "steps": steps_per_episode,
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


def _arguments(page: str, call: str, count: int) -> list[list]:
    """The JSON arguments after the div id of each ``call("id", ...)`` in a page (plotly.js's own uses skipped)."""
    decoder, found = json.JSONDecoder(), []
    for match in re.finditer(re.escape(call) + r"\(\s*(['\"])[^'\"]*\1", page):
        values, position = [], match.end()
        try:
            for _ in range(count):
                value, position = decoder.raw_decode(page, re.compile(r"[\s,]*").match(page, position).end())
                values.append(value)
        except json.JSONDecodeError:
            continue
        found.append(values)
    return found


def _plotted(page: str) -> list[tuple[list[dict], dict]]:
    """(traces, layout) of each ``Plotly.newPlot("id", traces, layout, config)`` call in a page."""
    return [(traces, layout) for traces, layout in _arguments(page, "Plotly.newPlot", 2)]


def decoded(value) -> np.ndarray:
    """A trace's array as the browser reads it: plotly writes numpy arrays as ``{dtype, bdata, shape}``."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return array.reshape([int(n) for n in str(value.get("shape", len(array))).split(",")])
    return np.asarray(value)


def animation_frames(page: str) -> list[dict]:
    """The frames of the page's first animated figure (``Plotly.addFrames("id", frames)``)."""
    return _arguments(page, "Plotly.addFrames", 1)[0][0]


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    return lambda name, *args, **kwargs: write_run(tmp_path / name, *args, **kwargs)


@pytest.fixture
def plotted() -> Callable[[str], list[tuple[list[dict], dict]]]:
    """Reads back the figures of a written page, as the browser gets them."""
    return _plotted


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory) -> Path:
    """Three 150-step episodes of the untrained tiny brain in the cross maze (task 3-1), every region recorded."""
    return record_run(tmp_path_factory.mktemp("recorded") / "tiny-3-1")


#: The lesions of :func:`lesioned_run`: each kind the connectome allows.
LESIONS = {"hippocampus": "remove", "amygdala": "silence", "entorhinal": 0.5, "ca3.state -> ca3.previous": "remove"}


@pytest.fixture(scope="session")
def lesioned_run(tmp_path_factory) -> Path:
    """One 60-step episode of the tiny brain with a removed, a silenced and a half-silenced region, an edge removed."""
    return record_run(tmp_path_factory.mktemp("recorded") / "tiny-lesioned", episodes=1, steps=60, lesions=LESIONS)
