"""A region from outside the package: the "Add a region" tutorial's own code, plugins, and what --check refuses."""

from __future__ import annotations

import queue
import re
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import regions
from brain import run
from brain.engine import Brain
from brain.events import Event, Updated
from brain.training import a3c
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop

DOC = Path(__file__).resolve().parents[2] / "docs" / "regions.md"


def tutorial_block(after: str, language: str) -> str:
    """The first ``language`` code block of docs/regions.md after the line that mentions ``after``."""
    text = DOC.read_text()
    start = text.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    return match.group(1)


@pytest.fixture
def tutorial(tmp_path: Path, monkeypatch) -> Path:
    """The tutorial's two files, written as a user would, in a folder outside the project."""
    (tmp_path / "my_lab").mkdir()
    (tmp_path / "my_lab" / "retrosplenial.py").write_text(tutorial_block("`my_lab/retrosplenial.py`", "python"))
    connectome = tmp_path / "my_brain.yaml"
    connectome.write_text(tutorial_block("`my_brain.yaml`", "yaml"))
    monkeypatch.syspath_prepend(str(tmp_path))
    return connectome


def test_the_tutorial_region_is_checked_with_its_teacher_and_weight(tutorial: Path, capsys):
    assert run.main(["--connectome", str(tutorial), "--check"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"retrosplenial/head_direction\s*\|\s*pose\s*\|\s*\[12\]\s*\|\s*0\.2", printed), printed


def head_direction_losses(connectome: Path, out: Path, updates: int) -> list[float]:
    """The tutorial region's loss at each of ``updates`` updates of one in-process worker (5 steps x 4 environments)."""
    torch.manual_seed(0)
    cfg = TrainConfig(connectome=str(connectome), task="1-3", workers=1, envs_per_worker=4, t_max=5, steps=10**6,
                      seed=1, out=str(out))
    shared = Brain.from_connectome(str(connectome))
    memory = shared.regions["hippocampus"].make_memory(capacity=2000)
    a3c.attach_memory(shared, memory)
    optimizer = SharedRMSprop(shared.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
    events: queue.Queue = queue.Queue()
    worker = a3c.Worker(0, 0, cfg, str(connectome), a3c.SharedParameters(shared, optimizer), memory,
                        Counters(mp.get_context("spawn")), events, threading.Event())
    worker._setup()
    losses: list[float] = []
    while len(losses) < updates:
        worker.rollout()
        losses += [event.terms["loss/retrosplenial/head_direction"] for event in drain(events)
                   if isinstance(event, Updated)]
    worker.envs.close()
    return losses


def test_the_tutorial_region_trains_and_its_loss_falls(tutorial: Path, tmp_path: Path):
    """Against the same run with the teacher's weight at 0 (the region then learns nothing)."""
    control = write(tmp_path / "control.yaml", """\
        extends: my_brain.yaml
        name: control
        regions:
          retrosplenial: {aux_weights: {head_direction: 0.0}}
        """)
    trained = head_direction_losses(tutorial, tmp_path / "trained", updates=24)
    untrained = head_direction_losses(control, tmp_path / "control", updates=24)
    assert trained[0] == pytest.approx(untrained[0])  # the same start
    assert np.mean(trained[-12:]) < np.mean(untrained[-12:]) - 0.2, (trained, untrained)
    assert np.mean(trained[-12:]) < trained[0] - 0.2, trained


def drain(events: queue.Queue) -> list[Event]:
    items = []
    while not events.empty():
        items.append(events.get_nowait())
    return items


def test_an_installed_package_adds_regions_through_its_entry_point(tmp_path: Path, monkeypatch):
    package = tmp_path / "thalamus_plugin"
    package.mkdir()
    (package / "relay.py").write_text(textwrap.dedent('''
        from regions import InputPort, Region, register

        @register("thalamus_relay")
        class Relay(Region):
            inputs = {"x": InputPort()}

            def __init__(self, input_shapes):
                super().__init__(input_shapes)
                self.output_shapes = {"y": input_shapes["x"]}

            def forward(self, inputs, state):
                return {"y": inputs["x"]}, {}
    '''))
    info = tmp_path / "thalamus_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thalamus-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{regions.ENTRY_POINT_GROUP}]\nrelay = thalamus_plugin.relay\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "thalamus_relay" not in regions.REGISTRY
    regions.load_plugins()
    assert regions.REGISTRY["thalamus_relay"].__module__ == "thalamus_plugin.relay"
    monkeypatch.delitem(regions.REGISTRY, "thalamus_relay")


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("yaml_text, line, message", [
    ("""\
     extends: wba.yaml
     name: bad_import
     imports: [no_such_lab.thalamus]
     """, 3, "imports[0]: cannot import 'no_such_lab.thalamus': ModuleNotFoundError"),
    ("""\
     extends: wba.yaml
     name: unknown_type
     regions:
       thalamus: {type: thalamus}
     """, 4, "imports: [my_lab.thalamus]"),
    ("""\
     extends: wba.yaml
     name: unknown_weight
     regions:
       ca1:
         aux_weights: {grid_cells: 0.3}
     """, 5, "region 'ca1' has no teacher 'grid_cells'; its teachers: place_cells"),
    ("""\
     extends: wba.yaml
     name: negative_weight
     regions:
       ca1:
         aux_weights: {place_cells: -1}
     """, 5, "greater than or equal to 0"),
])
def test_check_refuses_a_bad_region_setup_at_its_line(tmp_path: Path, capsys, yaml_text, line, message):
    path = write(tmp_path / "variant.yaml", yaml_text)
    assert run.main(["--connectome", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"variant.yaml:{line}" in err and message in err and "Traceback" not in err, err


def test_a_teacher_size_follows_its_region_params_and_trains(tmp_path: Path, capsys):
    """A head-direction read-out of 16 cells gets a teacher of 16 cells (it used to crash the first update)."""
    path = write(tmp_path / "hd16.yaml", """\
        extends: wba.yaml
        name: hd16
        regions:
          entorhinal: {params: {head_cells: 16}}
        """)
    assert run.main(["--connectome", str(path), "--check"]) == 0
    assert re.search(r"entorhinal/head_direction\s*\|\s*pose\s*\|\s*\[16\]", capsys.readouterr().out)


@regions.register("test_teacher_from_nowhere")
class ReadsTheFuture(regions.Region):
    """A region whose teacher reads an ``info`` key no environment supplies."""

    inputs = {"x": regions.InputPort()}

    def __init__(self, input_shapes):
        super().__init__(input_shapes)
        self.output_shapes = {"y": (1,)}

    def teachers(self):
        return {"future": regions.Teacher(lambda steps: steps.stack("next_reward"), (), ("next_reward",))}

    def forward(self, inputs, state):
        return {"y": inputs["x"][:, :1]}, {}


@regions.register("test_loss_without_teacher")
class NamesItsLossWrongly(ReadsTheFuture):
    """A region whose loss is not named after its teacher (it would get no weight)."""

    def teachers(self):
        return {"reward": regions.Teacher(lambda steps: torch.as_tensor(steps.rewards), ())}

    def auxiliary_losses(self, outputs, targets):
        return {"prediction": (outputs["y"][..., 0] - targets["reward"]).square().mean()}


@regions.register("test_teacher_of_no_port")
class FitsAPortItLacks(ReadsTheFuture):
    """A region whose teacher names an output port the region does not have (the cells page would miss it)."""

    def teachers(self):
        return {"reward": regions.Teacher(lambda steps: torch.as_tensor(steps.rewards), (), port="z")}


@pytest.mark.parametrize("type_name, message", [
    ("test_teacher_from_nowhere", "the teacher 'future' of region type 'test_teacher_from_nowhere' reads info "
                                  "['next_reward'], which the environments do not supply"),
    ("test_loss_without_teacher", "returned the auxiliary losses ['prediction'] for its teachers ['reward']"),
    ("test_teacher_of_no_port", "the teacher 'reward' of region type 'test_teacher_of_no_port' fits port 'z', which "
                                "is not one of its output ports (y)"),
])
def test_check_refuses_a_region_whose_teacher_cannot_train(tmp_path: Path, capsys, type_name, message):
    path = write(tmp_path / "odd.yaml", f"""\
        extends: wba.yaml
        name: odd
        regions:
          odd: {{type: {type_name}}}
        connections+:
          - amygdala.valence -> odd.x
        """)
    assert run.main(["--connectome", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
