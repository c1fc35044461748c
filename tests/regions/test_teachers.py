"""Teacher signals: place and head-direction ensembles from the true pose, and the rollout targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from regions.teachers import HeadDirectionCells, PlaceCells, teacher_targets

CENTRES = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [-3.0, -3.0]], dtype=np.float32)


def pose(x: float, z: float, heading: float = 0.0) -> np.ndarray:
    return np.array([x, z, heading], dtype=np.float32)


@pytest.mark.parametrize("position, nearest", [((0.2, -0.3), 0), ((3.1, 0.5), 1), ((0.0, 9.0), 2), ((-2.0, -2.5), 3)])
def test_place_target_peaks_at_the_nearest_centre_and_sums_to_one(position, nearest):
    target = PlaceCells(CENTRES, sigma=1.0).targets(pose(*position))
    assert target.shape == (4,)
    assert int(target.argmax()) == nearest
    torch.testing.assert_close(target.sum(), torch.tensor(1.0))


def test_place_target_is_the_softmax_of_gaussian_log_fields():
    place = PlaceCells(CENTRES, sigma=2.0)
    target = place.targets(pose(1.0, 1.0))
    squared = ((torch.from_numpy(CENTRES) - torch.tensor([1.0, 1.0])) ** 2).sum(-1)
    torch.testing.assert_close(target, torch.softmax(-squared / 8.0, -1))
    wider = PlaceCells(CENTRES, sigma=4.0).targets(pose(1.0, 1.0))
    assert wider.max() < target.max()  # wider fields, flatter population code


def test_place_targets_are_batched_and_far_positions_stay_finite():
    poses = np.stack([pose(0.0, 0.0), pose(1e4, -1e4)]).reshape(1, 2, 3)
    target = PlaceCells(CENTRES).targets(poses)
    assert target.shape == (1, 2, 4) and torch.isfinite(target).all()
    torch.testing.assert_close(target.sum(-1), torch.ones(1, 2))


@pytest.mark.parametrize("heading, nearest", [(0.0, 0), (-0.2, 0), (math.pi / 2 + 0.1, 3), (math.pi, 6),
                                              (-math.pi / 2, 9), (2 * math.pi - 0.05, 0)])
def test_head_direction_target_peaks_at_the_nearest_preferred_direction(heading, nearest):
    cells = HeadDirectionCells(n=12, kappa=20.0)
    target = cells.targets(pose(5.0, 5.0, heading))
    assert int(target.argmax()) == nearest
    torch.testing.assert_close(target.sum(), torch.tensor(1.0))


def test_head_direction_tuning_is_von_mises_and_sharpens_with_kappa():
    broad, sharp = HeadDirectionCells(n=8, kappa=1.0), HeadDirectionCells(n=8, kappa=20.0)
    theta = 0.3
    expected = torch.softmax(torch.cos(theta - torch.arange(8) * (2 * math.pi / 8)), -1)
    torch.testing.assert_close(broad.targets(pose(0, 0, theta)), expected)
    assert sharp.targets(pose(0, 0, theta)).max() > broad.targets(pose(0, 0, theta)).max()


def test_for_maze_picks_distinct_free_space_points_reproducibly():
    points = np.random.default_rng(0).uniform(-10, 10, (500, 2)).astype(np.float32)
    first = PlaceCells.for_maze(points, n=64, sigma=1.5, seed=3)
    again = PlaceCells.for_maze(points, n=64, sigma=1.5, seed=3)
    other = PlaceCells.for_maze(points, n=64, sigma=1.5, seed=4)
    assert first.n == 64 and first.sigma == 1.5
    torch.testing.assert_close(first.centres, again.centres)
    assert not torch.equal(first.centres, other.centres)
    chosen = {tuple(row) for row in first.centres.tolist()}
    assert len(chosen) == 64 and chosen <= {tuple(row) for row in points.tolist()}


def test_teacher_targets_give_the_interface_keys_and_shapes():
    poses = np.random.default_rng(1).uniform(-3, 3, (7, 2, 3)).astype(np.float32)
    rewards = np.zeros((7, 2), dtype=np.float32)
    rewards[4, 1] = 2.0
    place, hd = PlaceCells(CENTRES), HeadDirectionCells()
    targets = teacher_targets(poses, rewards, place, hd)
    assert {name: tuple(t.shape) for name, t in targets.items()} == {
        "place_cells": (7, 2, 4), "head_direction": (7, 2, 12), "reward": (7, 2), "mask": (7, 2)}
    torch.testing.assert_close(targets["place_cells"], place.targets(poses))
    torch.testing.assert_close(targets["head_direction"], hd.targets(poses))
    assert targets["reward"][4, 1] == 2.0 and targets["mask"].all()


def test_teacher_targets_take_one_place_map_per_step_when_the_maze_changes():
    poses = np.zeros((3, 1, 3), dtype=np.float32)
    maps = [PlaceCells(CENTRES), PlaceCells(CENTRES + 4.0), PlaceCells(CENTRES)]
    targets = teacher_targets(poses, np.zeros((3, 1)), maps, HeadDirectionCells())
    torch.testing.assert_close(targets["place_cells"][1], maps[1].targets(poses[1]))
    assert not torch.allclose(targets["place_cells"][0], targets["place_cells"][1])
    with pytest.raises(ValueError, match=r"2 place-cell maps for 3 time steps"):
        teacher_targets(poses, np.zeros((3, 1)), maps[:2], HeadDirectionCells())


@pytest.mark.parametrize("call, message", [
    (lambda: PlaceCells(np.zeros((4, 3))), r"centres must have shape \[N, 2\]"),
    (lambda: PlaceCells(CENTRES, sigma=0.0), r"sigma"),
    (lambda: PlaceCells.for_maze(CENTRES, n=5), r"n=5 distinct centres from 4 points"),
    (lambda: HeadDirectionCells(n=0), r"n must be a positive integer"),
    (lambda: PlaceCells(CENTRES).targets(np.zeros((2, 2))), r"pose must have shape \[\.\.\., 3\]"),
    (lambda: teacher_targets(np.zeros((3, 3)), np.zeros(3), PlaceCells(CENTRES), HeadDirectionCells()),
     r"poses must be \[T, B, 3\]"),
    (lambda: teacher_targets(np.zeros((3, 2, 3)), np.zeros((3, 1)), PlaceCells(CENTRES), HeadDirectionCells()),
     r"rewards must be \[T, B\]"),
])
def test_bad_input_is_reported_with_the_expected_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()
