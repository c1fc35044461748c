"""Teacher signals: place and head-direction ensembles from the true pose, and the teachers regions declare."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from regions.base import TeacherInput
from regions.teachers import (HeadDirectionCells, PlaceCells, head_direction_teacher, place_cell_teacher,
                              reward_teacher)

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


def rollout_infos(mazes: list[str], steps: int, seed: int) -> TeacherInput:
    """Random poses, one environment per maze, over ``steps`` steps."""
    poses = np.random.default_rng(seed).uniform(-3, 3, (steps, len(mazes), 3)).astype(np.float32)
    rewards = np.zeros((steps, len(mazes)), dtype=np.float32)
    rewards[2, -1] = 2.0
    return TeacherInput([[{"pose": poses[t, b], "maze": maze} for b, maze in enumerate(mazes)] for t in range(steps)],
                        rewards)


def test_the_teacher_signals_have_their_declared_shapes_and_values():
    steps = rollout_infos(["onedim", "cross"], steps=5, seed=1)
    poses = steps.stack("pose")
    place, head, reward = place_cell_teacher(32, sigma=1.5, seed=2), head_direction_teacher(12), reward_teacher()
    for teacher in (place, head, reward):
        assert tuple(teacher.signal(steps).shape) == (5, 2, *teacher.shape)
    torch.testing.assert_close(head.signal(steps), HeadDirectionCells(12).targets(poses))
    assert reward.signal(steps)[2, 1] == 2.0 and reward.info_keys == ()
    assert place.info_keys == ("pose", "maze") and head.info_keys == ("pose",)


def test_place_cells_keep_one_map_per_maze():
    steps = rollout_infos(["onedim", "cross"], steps=4, seed=3)
    poses, signal = steps.stack("pose"), place_cell_teacher(32, sigma=1.5, seed=2).signal
    maps = signal.maps
    torch.testing.assert_close(signal(steps)[:, 0], maps["onedim"].targets(poses[:, 0]))
    torch.testing.assert_close(signal(steps)[:, 1], maps["cross"].targets(poses[:, 1]))
    assert not torch.allclose(maps["onedim"].centres, maps["cross"].centres)
    again = place_cell_teacher(32, sigma=1.5, seed=2).signal
    torch.testing.assert_close(again(steps), signal(steps))  # the same seed draws the same maps


@pytest.mark.parametrize("call, message", [
    (lambda: PlaceCells(np.zeros((4, 3))), r"centres must have shape \[N, 2\]"),
    (lambda: PlaceCells(CENTRES, sigma=0.0), r"sigma"),
    (lambda: PlaceCells.for_maze(CENTRES, n=5), r"n=5 distinct centres from 4 points"),
    (lambda: HeadDirectionCells(n=0), r"n must be a positive integer"),
    (lambda: PlaceCells(CENTRES).targets(np.zeros((2, 2))), r"pose must have shape \[\.\.\., 3\]"),
])
def test_bad_input_is_reported_with_the_expected_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_cue_teacher_is_the_cued_target_one_hot_and_zero_without_a_cue():
    from regions.base import TeacherInput
    from regions.teachers import cue_teacher

    infos = [[{"cued_target": "blue"}, {"cued_target": None}], [{"cued_target": "red"}, {"cued_target": None}]]
    signal = cue_teacher(["red", "green", "blue"]).signal(TeacherInput(infos, np.zeros((2, 2), np.float32)))
    assert signal.tolist() == [[[0, 0, 1], [0, 0, 0]], [[1, 0, 0], [0, 0, 0]]]


def test_centre_surround_place_targets_peak_at_the_nearest_centre_with_a_floor_elsewhere():
    centres = torch.tensor([[x, z] for x in np.linspace(-1, 1, 9) for z in np.linspace(-1, 1, 9)], dtype=torch.float32)
    poses = torch.tensor([[0.0, 0.0, 0.0], [0.5, -0.75, 1.0]])
    gaussian = PlaceCells(centres, sigma=0.12).targets(poses)
    dog = PlaceCells(centres, sigma=0.12, surround=2.0).targets(poses)
    assert torch.allclose(dog.sum(-1), torch.ones(2)) and dog.min() >= 0
    assert torch.equal(dog.argmax(-1), gaussian.argmax(-1))
    assert dog.min(-1).values.min() == 0  # the deepest surround reads zero
    entropy = lambda p: -(p * p.clamp_min(1e-30).log()).sum(-1)
    assert (entropy(dog) > entropy(gaussian)).all()  # broader, flatter targets than plain Gaussians
    with pytest.raises(ValueError, match="surround"):
        PlaceCells(centres, sigma=0.12, surround=0.5)
