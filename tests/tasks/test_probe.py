"""The water-maze probe trial: the platform removed for 60 s, and where the swim searched against the other quadrants."""

import math

import numpy as np
import pytest

from tasks.arena import ARENA_TASKS, ArenaEnv
from tasks.foraging import forage
from tasks.probe import measure, sites

PLATFORM = ARENA_TASKS["watermaze"].platform
NORTH = 0.0
#: A circle around (0.45, 0.45), 0.1 m from the platform's centre at its nearest: it runs through the platform
#: once a lap (15 steps of 0.1 m, turning 24 deg) and stays in the north-east quadrant.
CIRCLE_CENTRE, LAP_TURN, LAP_STEPS = (0.45, 0.45), 24.0, 15
CIRCLE_RADIUS = 0.1 / (2 * math.sin(math.radians(LAP_TURN / 2)))


def circling(probe: bool) -> tuple[list, dict]:
    """A scripted swimmer going round ``CIRCLE_CENTRE`` until its trial ends: (each step's outcome, final info)."""
    env = ArenaEnv("watermaze", kinematics="continuous", render_observations=False)
    env.reset(seed=0, options={"pose": (CIRCLE_CENTRE[0] - CIRCLE_RADIUS, CIRCLE_CENTRE[1], NORTH), "probe": probe})
    steps, done = [], False
    while not done:
        _, reward, terminated, truncated, info = env.step(np.array([LAP_TURN, 0.1], np.float32))
        steps.append((reward, terminated, truncated, info["zone"], info["success"]))
        done = terminated or truncated
    return steps, info


def test_the_sites_are_the_platform_turned_about_the_centre():
    assert sites(PLATFORM) == pytest.approx(np.array([[0.55, 0.55], [-0.55, 0.55], [-0.55, -0.55], [0.55, -0.55]]))


def test_a_swimmer_circling_the_platform_site_spends_the_probe_there_and_the_platform_never_ends_it():
    trial, _ = circling(probe=False)
    assert len(trial) < LAP_STEPS and trial[-1][1] and trial[-1][4]  # the control: the same swim finds the platform
    probe, info = circling(probe=True)
    assert len(probe) == 300 and info["ticks"] == 3000  # the full 60 s
    assert all(reward == pytest.approx(-0.01) and not terminated and zone is None and not success
               for reward, terminated, _, zone, success in probe)
    assert [truncated for _, _, truncated, _, _ in probe] == [False] * 299 + [True]
    assert not info["failure"] and info["trial"] == 0  # a probe is not a trial of the task's record
    result = info["probe"]
    assert result.target_share == 1.0 and result.shares[1:] == (0.0, 0.0, 0.0)
    assert result.crossings[0] >= 300 // LAP_STEPS - 1 and result.crossings[1:] == (0, 0, 0)


def test_random_foraging_searches_every_quadrant_alike():
    """200 rat-like foraging paths of 60 s (tasks.foraging, seed 0): about a quarter of the time in each quadrant."""
    paths = forage(steps=300, batch=200, seed=0).poses[..., :2]
    results = [measure(path, PLATFORM) for path in paths]
    shares, crossings = np.array([r.shares for r in results]), np.array([r.crossings for r in results])
    assert shares.sum(axis=1) == pytest.approx(1.0)
    error = shares.std(axis=0) / math.sqrt(len(paths))
    assert np.all(np.abs(shares.mean(axis=0) - 0.25) < 3 * error)  # chance, within 3 standard errors (about 0.06)
    assert crossings.mean() > 0.5 and np.abs(crossings.mean(axis=0) - crossings.mean()).max() < 0.25


def test_the_environment_measures_the_path_it_swam():
    trajectory = forage(steps=300, batch=1, seed=3)
    env = ArenaEnv("watermaze", kinematics="continuous", render_observations=False)
    env.reset(seed=0, options={"pose": trajectory.poses[0, 0], "probe": True})
    for odometry in trajectory.odometry[0]:
        *_, info = env.step(odometry)
    assert info["probe"] == measure(trajectory.poses[0, :, :2], PLATFORM)


def test_a_long_move_through_a_site_crosses_it_though_neither_end_lies_in_it():
    result = measure(np.array([[0.3, 0.55], [0.8, 0.55], [0.8, 0.3], [0.3, 0.55]]), PLATFORM)
    assert result.crossings == (2, 0, 0, 0) and result.shares == (1.0, 0.0, 0.0, 0.0)


def test_bad_probe_options_say_what_to_do():
    with pytest.raises(ValueError, match="task 'openfield' has none; probe the water maze"):
        ArenaEnv("openfield", render_observations=False).reset(options={"probe": True})
    with pytest.raises(ValueError, match="'probe' must be True or False"):
        ArenaEnv("watermaze", render_observations=False).reset(options={"probe": "yes"})
    with pytest.raises(ValueError, match="at least one step"):
        measure(np.zeros((1, 2)), PLATFORM)
