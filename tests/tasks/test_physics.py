"""Kinematics and collision: walls stop the agent 0.58 m away, slide it along, never let it through."""

import math

import numpy as np
import pytest

from tasks.free_space import GRID, reachable_grid
from tasks.geometry import load_maze
from tasks.physics import COLLISION_RADIUS, Collider, direction, wrap_degrees

LAYOUTS = [("onedim", None), ("onedim_colourless", None), ("cross", None), ("arrow", "ArrowMazeTask1"),
           ("arrow", "ArrowMazeTask2"), ("arrow", "ArrowMazeTask3"), ("arrow", None)]


def collider(name, layout=None):
    return Collider.from_maze(load_maze(name, layout))


def test_head_on_move_stops_at_radius_plus_skin():
    x, z = collider("onedim").move(0.0, 22.0, 0.0, 2.0)
    assert x == 0.0
    assert z == pytest.approx(23.5 - COLLISION_RADIUS, abs=1e-5)


def test_free_move_is_exact():
    assert collider("onedim").move(0.0, 2.0, 0.0, 2.0) == (0.0, 4.0)


def test_two_metre_move_does_not_tunnel_through_one_metre_wall():
    # Cross maze, south arm: the east side wall is x in [1, 2]; beyond it lies open ground.
    c = collider("cross")
    for start_x in (0.0, 0.3, 0.42):
        x, z = c.move(start_x, 5.0, 2.0, 0.0)
        assert x == pytest.approx(1.0 - COLLISION_RADIUS, abs=1e-5)
        assert z == 5.0


def test_start_overlapping_a_wall_cannot_move_further_in():
    # The 1-D start (0, 0) is 0.5 m from the south wall, inside the 0.58 m skin.
    c = collider("onedim")
    assert c.move(0.0, 0.0, 0.0, -2.0) == (0.0, 0.0)
    assert c.move(0.0, 0.0, 0.0, 2.0) == (0.0, 2.0)


def test_oblique_move_slides_along_a_straight_wall():
    dx, dz = direction(30)
    x, z = collider("onedim").move(0.0, 5.0, 2 * dx, 2 * dz)
    assert x == pytest.approx(1.0 - COLLISION_RADIUS, abs=1e-5)
    assert z == pytest.approx(5.0 + 2 * dz)  # the whole northward component survives


def test_angled_arrow_wall_slides_along_its_30_degree_face():
    c = collider("arrow", "ArrowMazeTask1")
    x0, z0 = -2.8, 4.0  # in the west arm of the V corridor
    assert c.clearance(np.array([[x0, z0]]))[0] > COLLISION_RADIUS
    t, nx, nz = c.sweep(x0, z0, 0.0, -2.0)  # straight south into the outer V wall
    assert 0.0 < t < 1.0
    assert (nx, nz) == pytest.approx((0.5, math.sqrt(3) / 2), abs=1e-3)  # the 30 deg wall faces NE
    x, z = c.move(x0, z0, 0.0, -2.0)
    contact = np.array([x0, z0 - 2.0 * t])
    slide = np.array([x, z]) - contact
    tangent = np.array([math.sqrt(3) / 2, -0.5])  # down the V towards the apex
    assert np.linalg.norm(slide) > 0.1
    assert abs(slide @ np.array([nx, nz])) < 1e-4  # all remaining motion is along the wall
    assert slide @ tangent > 0
    assert c.clearance(np.array([[x, z]]))[0] == pytest.approx(COLLISION_RADIUS, abs=1e-4)


@pytest.mark.parametrize("name,layout", LAYOUTS)
def test_random_walk_never_leaves_the_reachable_free_space(name, layout):
    c = collider(name, layout)
    grid = reachable_grid(name, layout)
    rng = np.random.default_rng(0)
    x, z = grid[rng.integers(len(grid))]
    path = []
    for _ in range(1500):
        dx, dz = direction(int(rng.integers(360)))
        x, z = c.move(x, z, 2.0 * dx, 2.0 * dz)
        path.append((x, z))
    path = np.array(path)
    assert c.clearance(path).min() >= COLLISION_RADIUS - 1e-5
    # Every position lies next to a reachable grid point: nothing crossed into enclosed space.
    nearest = np.array([np.abs(grid - p).max(axis=1).min() for p in path])
    assert nearest.max() <= GRID, f"agent escaped to {path[nearest.argmax()]} in {name} {layout}"


def test_headings_are_exact_at_right_angles_and_wrap():
    assert direction(0) == (0.0, 1.0)
    assert direction(90) == (1.0, 0.0)
    assert direction(-90) == (-1.0, 0.0)
    assert direction(180) == (0.0, -1.0)
    assert direction(30)[0] == 0.5
    assert [wrap_degrees(d) for d in (180, 190, -180, 360, -10)] == [180, -170, 180, 0, -10]


def test_collider_rejects_clockwise_footprints():
    with pytest.raises(ValueError, match="counter-clockwise"):
        Collider([np.array([[0, 0], [0, 1], [1, 1], [1, 0]], float)])
