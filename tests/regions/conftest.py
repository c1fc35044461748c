"""Shared helpers for the region tests: run a region over a sequence, fit it with Adam."""

from __future__ import annotations

from typing import Callable, Mapping

import pytest
import torch

from regions.base import Region


def unroll_region(region: Region, inputs: Mapping[str, torch.Tensor],
                  state: Mapping[str, torch.Tensor] | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Step ``region`` over time-major inputs ``[T, B, ...]``; returns stacked outputs and the last state."""
    steps, batch = next(iter(inputs.values())).shape[:2]
    state = region.initial_state(batch) if state is None else dict(state)
    per_step = []
    for t in range(steps):
        outputs, state = region({name: value[t] for name, value in inputs.items()}, state)
        per_step.append(outputs)
    return {name: torch.stack([o[name] for o in per_step]) for name in per_step[0]}, state


def fit_losses(parameters, loss_fn: Callable[[], torch.Tensor], steps: int, lr: float) -> list[float]:
    """Minimise ``loss_fn`` with Adam for ``steps`` steps; returns the loss before each step."""
    optimizer = torch.optim.Adam(list(parameters), lr=lr)
    history = []
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    return history


@pytest.fixture(autouse=True)
def _seeded():
    """Every region test starts from the same random state, on one thread."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def unroll():
    return unroll_region


@pytest.fixture
def fit():
    return fit_losses
