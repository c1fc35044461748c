"""CA1: place-cell read-out of a spatial code, the place-cell loss, learning a synthetic place map."""

from __future__ import annotations

import pytest
import torch

from regions.ca1 import CA1
from regions.teachers import PlaceCells


def synthetic_maze(steps: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions ``[T, B, 2]`` in a 10 m square and a CA3-like input ``[T, B, 24]`` that encodes them nonlinearly."""
    generator = torch.Generator().manual_seed(seed)
    positions = torch.rand(steps, batch, 2, generator=generator) * 10.0
    frequencies = torch.linspace(0.2, 1.2, 6)
    angles = positions[..., None] * frequencies  # [T, B, 2, 6]
    return positions, torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(2)


def place_teacher() -> PlaceCells:
    grid = torch.linspace(0.5, 9.5, 5)
    return PlaceCells(torch.cartesian_prod(grid, grid), sigma=1.5)


def test_place_cells_are_a_softmax_read_out_of_a_bounded_code():
    region = CA1({"ca3": (24,), "ec": (8,)}, place_cells=25, code=32)
    out, _ = region({"ca3": torch.randn(5, 24), "ec": torch.randn(5, 8)}, {})
    torch.testing.assert_close(out["place_cells"].sum(-1), torch.ones(5))
    assert out["code"].abs().max() < 1.0
    torch.testing.assert_close(out["place_cells"], region.place_readout(out["code"]).softmax(-1))


def test_direct_entorhinal_input_is_optional_and_used_when_connected():
    assert CA1({"ca3": (24,)}).code[0].in_features == 24
    region = CA1({"ca3": (24,), "ec": (8,)})
    ca3 = torch.randn(2, 24)
    first, _ = region({"ca3": ca3, "ec": torch.randn(2, 8)}, {})
    second, _ = region({"ca3": ca3, "ec": torch.randn(2, 8)}, {})
    assert not torch.allclose(first["code"], second["code"])


def test_place_cell_loss_reaches_the_code_layer_and_respects_the_mask():
    region = CA1({"ca3": (24,)}, place_cells=25, code=16)
    positions, ca3 = synthetic_maze(6, 3, seed=0)
    out, _ = region({"ca3": ca3.flatten(0, 1)}, {})
    out = {name: value.unflatten(0, (6, 3)) for name, value in out.items()}
    target = place_teacher().targets(torch.cat([positions, torch.zeros(6, 3, 1)], dim=-1))
    mask = torch.ones(6, 3)
    mask[:2] = 0
    loss = region.auxiliary_losses(out, {"place_cells": target, "mask": mask})["place_cells"]
    expected = -(target[2:] * out["place_cells"][2:].log()).sum(-1).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert region.code[0].weight.grad.abs().sum() > 0


def test_learns_a_place_map_from_its_input(fit):
    region = CA1({"ca3": (24,)}, place_cells=25, code=32)
    teacher = place_teacher()

    def targets_for(positions: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"place_cells": teacher.targets(torch.cat([positions, torch.zeros(*positions.shape[:2], 1)], -1))}

    def evaluate(positions: torch.Tensor, ca3: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, _ = region({"ca3": ca3.flatten(0, 1)}, {})
        activity = out["place_cells"].unflatten(0, ca3.shape[:2])
        return region.auxiliary_losses({"place_cells": activity}, targets_for(positions))["place_cells"], activity

    train = synthetic_maze(8, 32, seed=1)
    history = fit(region.parameters(), lambda: evaluate(*train)[0], steps=80, lr=1e-2)
    positions, ca3 = synthetic_maze(8, 32, seed=2)
    with torch.no_grad():
        held_out, activity = evaluate(positions, ca3)
    target = targets_for(positions)["place_cells"]
    entropy = -(target * target.log()).sum(-1).mean()  # the lowest cross-entropy possible
    assert held_out - entropy < 0.1 * (history[0] - entropy)
    decoded = teacher.centres[activity.argmax(-1)]
    assert (decoded - positions).norm(dim=-1).mean() < 1.2  # metres; a guess in the 10 m square is ~5 m off


def test_place_cell_count_mismatch_names_the_parameter():
    region = CA1({"ca3": (24,)}, place_cells=10)
    out = {"place_cells": torch.full((2, 3, 10), 0.1), "code": torch.zeros(2, 3, 128)}
    with pytest.raises(ValueError, match=r"params.place_cells"):
        region.auxiliary_losses(out, {"place_cells": torch.full((2, 3, 25), 0.04)})
