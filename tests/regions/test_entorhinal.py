"""Entorhinal cortex: self-motion encoding, dropout placement, ensemble losses, learning head direction; the
velocity integrator's exact heading and rectified state."""

from __future__ import annotations

import math

import pytest
import torch

from regions.entorhinal import Entorhinal, encode_self_motion, turned
from regions.teachers import HeadDirectionCells, PlaceCells
from tasks.foraging import forage

TURN_RIGHT, TURN_LEFT, FORWARD = (10.0, 0.0), (-10.0, 0.0), (0.0, 2.0)


def random_walk(steps: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Odometry ``[T, B, 2]`` of random actions and the true poses ``[T, B, 3]`` they lead to (from the origin, facing north)."""
    generator = torch.Generator().manual_seed(seed)
    moves = torch.tensor([TURN_RIGHT, TURN_LEFT, FORWARD])
    odometry = moves[torch.randint(0, 3, (steps, batch), generator=generator)]
    heading = torch.cumsum(odometry[..., 0], dim=0) * (math.pi / 180.0)  # right turns increase the heading
    x = torch.cumsum(odometry[..., 1] * heading.sin(), dim=0)
    z = torch.cumsum(odometry[..., 1] * heading.cos(), dim=0)
    wrapped = torch.atan2(heading.sin(), heading.cos())
    return odometry, torch.stack([x, z, wrapped], dim=-1)


def walk_targets(poses: torch.Tensor, place_cells: int = 32, head_cells: int = 12) -> dict[str, torch.Tensor]:
    centres = torch.stack(torch.meshgrid(torch.linspace(-10, 10, 8), torch.linspace(-10, 10, place_cells // 8),
                                         indexing="ij"), dim=-1).reshape(-1, 2)
    return {"place_cells": PlaceCells(centres, sigma=2.0).targets(poses),
            "head_direction": HeadDirectionCells(n=head_cells).targets(poses)}


def small(**params) -> Entorhinal:
    defaults = {"hidden": 64, "grid_units": 64, "place_cells": 32, "dropout": 0.1}
    return Entorhinal({"self_motion": (2,)}, **{**defaults, **params})


def test_self_motion_is_normalised_with_sine_and_cosine_of_the_turn():
    encoded = encode_self_motion(torch.tensor([TURN_RIGHT, TURN_LEFT, FORWARD]), turn_scale=10.0, move_scale=2.0)
    angle = math.radians(10.0)
    expected = torch.tensor([[1.0, 0.0, math.sin(angle), math.cos(angle)],
                             [-1.0, 0.0, -math.sin(angle), math.cos(angle)],
                             [0.0, 1.0, 0.0, 1.0]])
    torch.testing.assert_close(encoded, expected)


def test_read_outs_are_probability_ensembles(unroll):
    odometry, _ = random_walk(6, 4, seed=1)
    out, state = unroll(small(), {"self_motion": odometry})
    for name in ("head_direction", "place"):
        assert (out[name] >= 0).all()
        torch.testing.assert_close(out[name].sum(-1), torch.ones(6, 4))
    assert state["h"].shape == state["c"].shape == (4, 64)


def test_visual_correction_input_changes_the_integrator():
    region = Entorhinal({"self_motion": (2,), "visual": (10,)}).eval()
    motion = torch.tensor([FORWARD, FORWARD])
    seen, _ = region({"self_motion": motion, "visual": torch.randn(2, 10)}, region.initial_state(2))
    other, _ = region({"self_motion": motion, "visual": torch.randn(2, 10)}, region.initial_state(2))
    assert not torch.allclose(seen["grid"], other["grid"])


def test_dropout_acts_on_the_read_outs_but_not_on_the_exported_grid_code():
    region = small(dropout=0.5).train()
    inputs, state = {"self_motion": torch.tensor([TURN_RIGHT] * 3)}, region.initial_state(3)
    first, _ = region(inputs, state)
    second, _ = region(inputs, state)
    torch.testing.assert_close(first["grid"], second["grid"])
    assert not torch.allclose(first["head_direction"], second["head_direction"])
    region.eval()
    torch.testing.assert_close(region(inputs, state)[0]["place"], region(inputs, state)[0]["place"])


def test_reset_state_restarts_the_integration(unroll):
    region = small().eval()
    odometry, _ = random_walk(5, 2, seed=2)
    _, moved = unroll(region, {"self_motion": odometry})
    step = {"self_motion": odometry[0]}
    fresh, _ = region(step, region.initial_state(2))
    continued, _ = region(step, moved)
    assert not torch.allclose(fresh["grid"], continued["grid"])
    torch.testing.assert_close(region(step, region.initial_state(2))[0]["grid"], fresh["grid"])


def test_losses_are_ensemble_cross_entropies_averaged_over_valid_steps(unroll):
    region = small().eval()
    odometry, poses = random_walk(8, 3, seed=3)
    out, _ = unroll(region, {"self_motion": odometry})
    targets = walk_targets(poses)
    mask = torch.ones(8, 3)
    mask[5:, 1] = 0
    losses = region.auxiliary_losses(out, {**targets, "mask": mask})
    assert set(losses) == {"head_direction", "place_cells"}
    valid = mask.bool()
    expected = -(targets["head_direction"][valid] * out["head_direction"][valid].log()).sum(-1).mean()
    torch.testing.assert_close(losses["head_direction"], expected)
    garbage = {**targets, "head_direction": torch.where(valid[..., None], targets["head_direction"], 1e3)}
    torch.testing.assert_close(region.auxiliary_losses(out, {**garbage, "mask": mask})["head_direction"], expected)


def test_each_loss_sends_gradient_into_the_integrator(unroll):
    odometry, poses = random_walk(6, 4, seed=4)
    targets = walk_targets(poses)
    for name in ("head_direction", "place_cells"):
        region = small()
        out, _ = unroll(region, {"self_motion": odometry})
        region.auxiliary_losses(out, targets)[name].backward()
        for parameter in (region.cell.weight_ih, region.cell.weight_hh, region.bottleneck.weight):
            assert parameter.grad.abs().sum() > 0, name


def test_learns_head_direction_by_integrating_turns(unroll, fit):
    region = small()
    odometry, poses = random_walk(16, 32, seed=5)
    targets = walk_targets(poses)

    def head_direction_loss() -> torch.Tensor:
        out, _ = unroll(region, {"self_motion": odometry})
        return region.auxiliary_losses(out, targets)["head_direction"]

    history = fit(region.parameters(), head_direction_loss, steps=60, lr=1e-2)
    region.eval()
    test_odometry, test_poses = random_walk(16, 32, seed=6)
    with torch.no_grad():
        out, _ = unroll(region, {"self_motion": test_odometry})
    test_targets = walk_targets(test_poses)
    held_out = float(region.auxiliary_losses(out, test_targets)["head_direction"])
    accuracy = (out["head_direction"].argmax(-1) == test_targets["head_direction"].argmax(-1)).float().mean()
    assert held_out < 0.35 * history[0]
    assert accuracy > 0.9  # chance is 1/12


def test_mismatched_or_missing_teacher_signals_say_what_to_change(unroll):
    region = small()
    odometry, poses = random_walk(3, 2, seed=7)
    out, _ = unroll(region, {"self_motion": odometry})
    with pytest.raises(ValueError, match=r"params.head_cells"):
        region.auxiliary_losses(out, walk_targets(poses, head_cells=8))
    with pytest.raises(ValueError, match=r"'place_cells' is missing"):
        region.auxiliary_losses(out, {"head_direction": walk_targets(poses)["head_direction"]})


def test_bad_parameters_are_rejected_by_name():
    with pytest.raises(ValueError, match=r"params.dropout"):
        small(dropout=1.0)
    with pytest.raises(ValueError, match=r"params.grid_units"):
        small(grid_units=0)


def test_relu_grid_units_are_non_negative_and_a_bad_activation_is_named():
    region = small(grid_activation="relu", place_surround=2.0)
    odometry, _ = random_walk(5, 4, seed=0)
    state = region.initial_state(4)
    for motion in odometry:
        outputs, state = region({"self_motion": motion}, state)
        assert outputs["grid"].min() >= 0 and (outputs["grid"] > 0).any()
    assert region.teachers()["place_cells"].signal.surround == 2.0
    with pytest.raises(ValueError, match="grid_activation must be one of linear, relu"):
        small(grid_activation="tanh")


def by_velocity(**params) -> Entorhinal:
    return small(**{"integrator": "velocity", "grid_activation": "relu", **params})


def test_the_velocity_integrators_heading_and_moves_retrace_a_foraging_path():
    """Its heading is the exact integral of the turns, in the odometry's convention (0 north, right turns positive)."""
    path = forage(steps=50, batch=3, seed=4)
    poses = torch.from_numpy(path.poses)
    heading = torch.stack([poses[:, 0, 2].sin(), poses[:, 0, 2].cos()], dim=-1)
    position = poses[:, 0, :2].clone()
    for step in torch.from_numpy(path.odometry).unbind(1):
        turn, move = step.unbind(-1)
        angle = torch.deg2rad(turn)
        heading = turned(heading, angle.cos(), angle.sin())
        position += move.unsqueeze(-1) * heading
        torch.testing.assert_close(heading.norm(dim=-1), torch.ones(3, dtype=heading.dtype))
    torch.testing.assert_close(position, poses[:, -1, :2])


def test_the_velocity_integrators_grid_units_are_its_rectified_state_and_silent_without_motion(unroll):
    region = by_velocity().eval()
    state = region.initial_state(4)
    torch.testing.assert_close(state["heading"], torch.tensor([[0.0, 1.0]] * 4))
    still, _ = unroll(region, {"self_motion": torch.zeros(5, 4, 2)})
    assert (still["grid"] == 0).all()  # no bias: no motion, no activity (Sorscher et al.)
    odometry, _ = random_walk(6, 4, seed=8)
    out, state = unroll(region, {"self_motion": odometry})
    assert out["grid"].min() >= 0 and (out["grid"] > 0).any()
    torch.testing.assert_close(out["grid"][-1], state["grid"])
    torch.testing.assert_close(out["place"].sum(-1), torch.ones(6, 4))


def test_the_velocity_integrator_with_a_visual_input_is_silent_in_the_dark_and_still():
    """Path-integration pre-training feeds zeros to the visual input: they must add no drive (no bias there either),
    and the velocity's weights start at their own scale, not shrunk by the visual input's width."""
    region = Entorhinal({"self_motion": (2,), "visual": (64,)}, hidden=32, grid_units=32, place_cells=16,
                        integrator="velocity", grid_activation="relu", visual_units=64).eval()
    state = region.initial_state(3)
    with torch.no_grad():
        outputs, _ = region({"self_motion": torch.zeros(3, 2), "visual": torch.zeros(3, 64)}, state)
        lit, _ = region({"self_motion": torch.zeros(3, 2), "visual": torch.ones(3, 64)}, state)
    assert (outputs["grid"] == 0).all() and (lit["grid"] > 0).any()
    bound = region.velocity_in.weight.abs().max()
    assert 0.5 < bound <= 1 / math.sqrt(2)  # PyTorch's default for a fan-in of 2


def test_the_place_loss_reaches_the_velocity_integrators_weights(unroll):
    region = by_velocity(dropout=0.0)
    odometry, poses = random_walk(6, 4, seed=9)
    out, _ = unroll(region, {"self_motion": odometry})
    region.auxiliary_losses(out, walk_targets(poses))["place_cells"].backward()
    for parameter in (region.velocity_in.weight, region.recurrent.weight, region.place_readout.weight):
        assert parameter.grad.abs().sum() > 0


@pytest.mark.parametrize("params, message", [
    ({"integrator": "gru"}, "integrator must be one of lstm, velocity"),
    ({"integrator": "velocity", "grid_activation": "relu", "grid_units": 32}, "set grid_units equal to hidden"),
    ({"integrator": "velocity"}, "grid_activation: relu"),
])
def test_a_bad_integrator_setting_is_named_with_its_fix(params, message):
    with pytest.raises(ValueError, match=message):
        small(**params)
