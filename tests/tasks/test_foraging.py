"""The random-foraging trajectories: inside the box, smooth, covering it, seeded, and replayable by the arena."""

import math

import numpy as np
import pytest

import tasks
from tasks.foraging import ForagingParams, forage, wrap_angle

PARAMS = ForagingParams()
HALF = PARAMS.half_width


@pytest.fixture(scope="module")
def long_run():
    """20 trajectories of 2000 steps (400 s each): 8000 s of foraging."""
    return forage(steps=2000, batch=20, seed=0)


def test_trajectories_stay_inside_the_free_square(long_run):
    xz = long_run.poses[..., :2]
    assert np.abs(xz).max() <= HALF
    assert HALF - np.abs(xz).max() < 0.01  # it does reach the walls
    assert HALF == pytest.approx(1.1 - 0.1 - 1e-3)


def test_motion_is_smooth_and_turns_are_bounded(long_run):
    turns, moves = long_run.turn_deg, long_run.move_m
    assert np.abs(turns).max() <= PARAMS.max_turn + 1e-9
    heading = long_run.poses[..., 2]
    np.testing.assert_allclose(wrap_angle(heading[:, 1:] - heading[:, :-1]), np.radians(turns), atol=1e-9)
    lag1 = lambda a: np.corrcoef(a[:, :-1].ravel(), a[:, 1:].ravel())[0, 1]
    assert lag1(turns) > 0.5 and lag1(moves) > 0.5  # turns and speeds persist from step to step
    steps = np.diff(long_run.poses[..., :2], axis=1)
    np.testing.assert_allclose(np.hypot(steps[..., 0], steps[..., 1]), moves, atol=1e-9)
    assert moves.min() >= 0.0 and np.median(moves) < 0.04  # a few centimetres per 0.2 s step,
    assert np.percentile(moves, 99.9) < 0.1  # hardly ever more than the discrete kinematics' 0.1 m


def test_speed_and_turning_follow_the_documented_statistics(long_run):
    speed = long_run.speed
    # Rayleigh with mean 0.15 m/s, slowed near the walls: the mean a little under it.
    assert 0.8 * PARAMS.speed_mean < speed.mean() < 1.02 * PARAMS.speed_mean
    turn_rate = long_run.angular_velocity
    assert math.degrees(turn_rate.std()) == pytest.approx(PARAMS.turn_std, rel=0.25)


def test_a_long_run_covers_the_box(long_run):
    xz = long_run.poses[..., :2].reshape(-1, 2)
    occupancy, _, _ = np.histogram2d(xz[:, 0], xz[:, 1], bins=10, range=[[-HALF, HALF]] * 2)
    assert occupancy.min() > 0.3 * occupancy.mean()  # every 0.2 m bin visited, none rare
    assert occupancy.max() < 3.0 * occupancy.mean()


def test_same_seed_same_trajectories():
    a, b, c = forage(50, batch=3, seed=7), forage(50, batch=3, seed=7), forage(50, batch=3, seed=8)
    np.testing.assert_array_equal(a.poses, b.poses)
    np.testing.assert_array_equal(a.odometry, b.odometry)
    assert not np.array_equal(a.poses, c.poses)


def test_the_arena_replays_a_trajectory_from_its_odometry():
    trajectory = forage(steps=400, batch=2, seed=3)
    env = tasks.make("openfield", kinematics="continuous", render_observations=False)
    for b in range(2):
        _, info = env.reset(seed=0, options={"pose": trajectory.poses[b, 0]})
        for t in range(400):
            obs, _, _, truncated, info = env.step(trajectory.odometry[b, t])
            assert not truncated
            pose = info["pose"].astype(float)
            np.testing.assert_allclose(pose[:2], trajectory.poses[b, t + 1, :2], atol=1e-5)
            assert abs(wrap_angle(pose[2] - trajectory.poses[b, t + 1, 2])) < 1e-5
        np.testing.assert_array_equal(obs["odometry"], trajectory.odometry[b, -1])


def test_start_poses_and_bad_arguments():
    start = np.array([[0.0, 0.0, 0.0], [0.5, -0.5, math.pi]])
    trajectory = forage(10, batch=2, seed=0, start=start)
    np.testing.assert_allclose(trajectory.poses[:, 0], start)
    with pytest.raises(ValueError, match="free square"):
        forage(10, batch=1, start=np.array([[1.05, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        forage(0)
    with pytest.raises(ValueError, match="speed_mean must be a positive number"):
        ForagingParams(speed_mean=0.0)
    with pytest.raises(ValueError, match="leaves no room"):
        ForagingParams(size=0.2)
