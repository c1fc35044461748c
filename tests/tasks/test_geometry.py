"""Maze geometry and free space: what the physics, renderer and place cells are built from."""

import numpy as np
import pytest

import tasks
from tasks.geometry import MAZE_NAMES, MATERIALS, load_maze
from tasks.physics import COLLISION_RADIUS, Collider, collision_radius


def test_mazes_load_with_their_scene_blockers():
    counts = {name: len(load_maze(name).boxes) for name in MAZE_NAMES}
    assert counts == {"onedim": 42, "onedim_colourless": 30, "cross": 60, "arrow": 80, "openfield": 12}  # arena:
    # four walls, each cut into two plain stretches and its cue card
    assert len(load_maze("arrow", "ArrowMazeTask1").boxes) == 82
    assert len(load_maze("arrow", "ArrowMazeTask2").boxes) == 83  # + the red blocker
    assert len(load_maze("arrow", "ArrowMazeTask3").boxes) == 81  # middle corridor open
    assert load_maze("onedim") is load_maze("onedim", "OneDimTask")  # cached
    for name in MAZE_NAMES:
        maze = load_maze(name)
        assert all(box.material in MATERIALS for box in maze.boxes)
        assert not maze.boxes[0].footprint.flags.writeable


def test_scene_settings_follow_the_spec():
    assert load_maze("onedim").light_direction == pytest.approx((0.0, -0.5, np.sqrt(3) / 2))
    assert load_maze("arrow").light_direction[1] == pytest.approx(-np.sin(np.radians(60)))
    assert load_maze("onedim").sky == "plain" and load_maze("cross").sky == "procedural"
    assert {m.kind for m in load_maze("onedim").landmarks} == {"tower", "building", "pyramid", "mountain"}


def test_unknown_maze_or_layout_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid mazes: onedim"):
        load_maze("maze")
    with pytest.raises(ValueError, match="valid layouts: ArrowMaze, ArrowMazeTask1"):
        load_maze("arrow", "ArrowMazeTask4")


@pytest.mark.parametrize("name", MAZE_NAMES)
def test_free_space_points_are_free_reachable_and_spread(name):
    pts = tasks.free_space_points(name, 400, seed=0)
    assert pts.shape == (400, 2)
    assert len(np.unique(pts, axis=0)) == 400
    collider = Collider.from_maze(load_maze(name))
    assert collider.clearance(pts).min() >= collision_radius(name) == collider.radius
    assert np.array_equal(pts, tasks.free_space_points(name, 400, seed=0))
    assert not np.array_equal(pts, tasks.free_space_points(name, 400, seed=1))


def test_free_space_covers_every_arm_and_nothing_enclosed():
    cross = tasks.free_space_points("cross", 500, seed=0)
    arms = [cross[:, 1] > 15, cross[:, 1] < 10, cross[:, 0] > 3, cross[:, 0] < -3]
    assert all(arm.sum() > 40 for arm in arms)
    one_dim = tasks.free_space_points("onedim", 300, seed=0)
    assert np.abs(one_dim[:, 0]).max() <= 1.0 - COLLISION_RADIUS
    assert one_dim[:, 1].min() < 1.0 and one_dim[:, 1].max() > 22.0
    arrow = tasks.free_space_points("arrow", 2000, seed=0)
    inner_rectangle = (arrow[:, 0] > -6.28) & (arrow[:, 0] < 9.72) & (arrow[:, 1] > 9.23) & (arrow[:, 1] < 17.23)
    assert not inner_rectangle.any()
    assert (arrow[:, 1] < 3.0).sum() > 20  # the V apex is reachable


def test_free_space_points_accepts_a_maze_and_checks_n():
    blocked = tasks.free_space_points(load_maze("arrow", "ArrowMazeTask2"), 10, seed=0)
    assert blocked.shape == (10, 2)
    with pytest.raises(ValueError, match="n must be"):
        tasks.free_space_points("cross", -1, seed=0)
