"""Small test-only regions and a tiny connectome that exercises every engine feature.

The tiny brain has a time-foldable front (``sense``), a region fed back by a delayed edge
(``loop``), a region with internal state (``memory``), a port fed by two sources (``actor.state``)
and an optional port fed by the environment (``actor.bonus``).
"""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import torch
from torch import nn

from regions.base import REGISTRY, InputPort, Region, Teacher, register

TINY = """\
name: tiny
description: test brain
inputs: {obs: [4], reward: [1]}
policy: actor.logits
value: actor.value
regions:
  sense: {type: test_linear, params: {units: 8}}
  loop: {type: test_linear, params: {units: 5}}
  memory: {type: test_gru, params: {units: 6}}
  actor: {type: test_actor, params: {actions: 3}}
connections:
  - env.obs -> sense.x
  - sense.y -> loop.x
  - {from: loop.y, to: loop.previous, delay: 1}
  - sense.y -> memory.x
  - loop.y -> actor.state
  - memory.h -> actor.state
  - env.reward -> actor.bonus
"""


def _once(name: str):
    """Register a test region type unless a previous import of this conftest already did."""

    def decorate(cls):
        return REGISTRY.get(name) or register(name)(cls)

    return decorate


@_once("test_linear")
class ToyLinear(Region):
    """Stateless tanh layer over ``x`` (+ optional ``extra`` and ``previous``); teacher loss on ``target``."""

    inputs = {"x": InputPort(doc="drive"), "extra": InputPort(required=False),
              "previous": InputPort(required=False, doc="own output one step earlier")}
    def __init__(self, input_shapes, units: int = 4):
        super().__init__(input_shapes)
        self.ports = [port for port in self.inputs if port in input_shapes]
        self._teachers = {"target": Teacher(lambda steps: torch.as_tensor(steps.rewards), (), doc="the reward")}
        self.layer = nn.Linear(sum(input_shapes[port][0] for port in self.ports), units)
        self.output_shapes = {"y": (units,)}

    def forward(self, inputs, state):
        return {"y": torch.tanh(self.layer(torch.cat([inputs[port] for port in self.ports], -1)))}, {}

    def teachers(self):
        return self._teachers

    def auxiliary_losses(self, outputs, targets):
        return {"target": (outputs["y"].mean(-1) - targets["target"]).square().mean()}


@_once("test_gru")
class ToyGRU(Region):
    """A GRU cell with internal state ``h``."""

    inputs = {"x": InputPort()}

    def __init__(self, input_shapes, units: int = 4):
        super().__init__(input_shapes)
        self.units = units
        self.cell = nn.GRUCell(input_shapes["x"][0], units)
        self.output_shapes = {"h": (units,)}

    def initial_state(self, batch_size):
        return {"h": torch.zeros(batch_size, self.units)}

    def forward(self, inputs, state):
        h = self.cell(inputs["x"], state["h"])
        return {"h": h}, {"h": h}


@_once("test_actor")
class ToyActor(Region):
    """Policy logits and value from ``state`` (+ optional scalar ``bonus``)."""

    inputs = {"state": InputPort(), "bonus": InputPort(required=False, shape=(1,))}

    def __init__(self, input_shapes, actions: int = 3):
        super().__init__(input_shapes)
        width = input_shapes["state"][0] + (1 if "bonus" in input_shapes else 0)
        self.policy, self.critic = nn.Linear(width, actions), nn.Linear(width, 1)
        self.output_shapes = {"logits": (actions,), "value": (1,)}

    def forward(self, inputs, state):
        x = torch.cat([inputs["state"], *([inputs["bonus"]] if "bonus" in inputs else [])], -1)
        return {"logits": self.policy(x), "value": self.critic(x)}, {}


@_once("test_image")
class ToyImage(Region):
    """Mean-pools an image port to ``y`` [channels]."""

    inputs = {"image": InputPort(ndim=3)}

    def __init__(self, input_shapes):
        super().__init__(input_shapes)
        self.output_shapes = {"y": (input_shapes["image"][0],)}

    def forward(self, inputs, state):
        return {"y": inputs["image"].float().mean((-1, -2))}, {}


@_once("test_fixed")
class ToyFixed(Region):
    """Declares an exact input shape ``x`` [4]."""

    inputs = {"x": InputPort(shape=(4,))}

    def __init__(self, input_shapes):
        super().__init__(input_shapes)
        self.layer = nn.Linear(4, 2)
        self.output_shapes = {"y": (2,)}

    def forward(self, inputs, state):
        return {"y": self.layer(inputs["x"])}, {}


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(text, name="brain.yaml")`` -> path of a dedented YAML file in tmp_path."""

    def _write(text: str, name: str = "brain.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return _write


@pytest.fixture
def tiny(write) -> Path:
    return write(TINY, "tiny.yaml")


@pytest.fixture
def broken(write) -> Callable[..., tuple[Path, str]]:
    """``broken(old, new, name="broken.yaml")`` -> (path, text) of the tiny connectome with ``old`` -> ``new``."""

    def _broken(old: str, new: str, name: str = "broken.yaml") -> tuple[Path, str]:
        assert old in TINY, old
        text = TINY.replace(old, new)
        return write(text, name), text

    return _broken


@pytest.fixture
def train_killing_a_worker() -> Callable:
    """``train_killing_a_worker(trainer, kill)`` -> (progress, killed): trains, calling ``kill()`` once the run
    has 100 steps (it returns whether it found a worker to kill)."""

    def _train(trainer, kill: Callable[[], bool]):
        killed: list[bool] = []

        def kill_once_running() -> None:
            deadline = time.time() + 120
            while time.time() < deadline and trainer.steps() < 100:
                time.sleep(0.2)
            killed.append(kill())

        killer = threading.Thread(target=kill_once_running, daemon=True)
        killer.start()
        progress = trainer.train()
        killer.join()
        return progress, bool(killed and killed[0])

    return _train


@pytest.fixture
def tiny_obs() -> Callable[..., dict[str, torch.Tensor]]:
    """``tiny_obs(T, B, seed=0)`` -> random ``[T, B, ...]`` observations for the tiny brain."""

    def _obs(steps: int, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        return {"obs": torch.randn(steps, batch, 4, generator=gen),
                "reward": torch.randn(steps, batch, 1, generator=gen)}

    return _obs
