"""The first-person renderer: what the agent must be able to see, and metric depth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tasks import free_space_points
from tasks.geometry import FLOOR_Y, Box, cube_box, load_maze, rect
from tasks.render import CUES, INVISIBLE_MATERIAL, UNITY8_SKY, Renderer, encode_depth_unity8

EYE = FLOOR_Y + 1.2
NORTH, EAST, SOUTH, WEST = 0.0, math.pi / 2, math.pi, -math.pi / 2


@pytest.fixture(scope="module")
def onedim() -> Renderer:
    return Renderer(load_maze("onedim"), max_depth=30.0)


@pytest.fixture(scope="module")
def arrow() -> Renderer:
    return Renderer(load_maze("arrow", "ArrowMazeTask2"), rgb_size=64, depth_size=64)


def _dominant(rgb: np.ndarray, channel: int) -> np.ndarray:
    """Pixels [S, S] where ``channel`` is bright and the other two are dark (a pure checker cell)."""
    others = [c for c in range(3) if c != channel]
    return (rgb[channel] > 100) & (rgb[others[0]] < 40) & (rgb[others[1]] < 40)


@pytest.mark.parametrize("size,depth_size", [(84, 32), (227, 32), (17, 5)])
def test_shapes_and_dtypes(size: int, depth_size: int) -> None:
    r = Renderer(load_maze("cross"), rgb_size=size, depth_size=depth_size)
    rgb, depth = r.render(0.0, 12.5, NORTH, EYE)
    assert rgb.shape == (3, size, size) and rgb.dtype == np.uint8
    assert depth.shape == (1, depth_size, depth_size) and depth.dtype == np.float32
    assert r.last_sky_mask.shape == depth.shape and r.last_sky_mask.dtype == bool


@pytest.mark.parametrize("z,channel", [(8.0, 2), (14.0, 1), (20.0, 0)])
@pytest.mark.parametrize("heading", [EAST, WEST])
def test_colour_zone_fills_the_view_when_faced(onedim: Renderer, z: float, channel: int, heading: float) -> None:
    rgb, _ = onedim.render(0.0, z, heading, EYE)
    wall_rows = slice(27, 84)  # the wall 1 m away: from its top (y 2.0, row 25.2) to the image bottom
    column = rgb[:, wall_rows, 42]
    coloured = _dominant(rgb, channel)[wall_rows, 42]
    black = column.max(axis=0) < 20
    assert coloured.mean() > 0.3 and black.mean() > 0.2 and (coloured | black).all()  # checkerboard cells
    for other in {0, 1, 2} - {channel}:
        assert not _dominant(rgb, other)[wall_rows].any()


def test_plain_wall_shows_white_discs_at_one_metre_height(onedim: Renderer) -> None:
    rgb, depth = onedim.render(0.0, 2.5, EAST, EYE)  # discs centred at z = 2 and 3, y = 1.0
    grey = rgb.min(axis=0)
    row = 42 + round(42 * 0.6)  # 0.6 m below the eye at 1 m distance
    lit = np.flatnonzero(grey[row] > 100)
    assert lit.size > 0 and not (grey[30] > 20).any()  # discs below the eye, black wall above
    centres = (lit + 0.5 - 42) / 42 + 2.5  # z of the lit columns on the wall x = 1
    assert np.all(np.minimum(np.abs(centres - 2.0), np.abs(centres - 3.0)) <= 0.25 + 0.03)


def test_depth_is_the_analytic_distance_to_a_wall(onedim: Renderer) -> None:
    _, depth = onedim.render(0.0, 10.0, NORTH, EYE)
    assert depth[0, 16, 16] == pytest.approx(23.5 - 10.0, abs=1e-4)
    _, depth = onedim.render(0.0, 10.0, EAST, EYE)
    assert depth[0, 16, 16] == pytest.approx(1.0, abs=1e-5)
    _, depth = onedim.render(0.3, 10.0, WEST, EYE)
    assert depth[0, 16, 16] == pytest.approx(1.3, abs=1e-5)


def test_depth_is_along_the_optical_axis_not_euclidean(onedim: Renderer) -> None:
    _, depth = onedim.render(0.0, 10.0, EAST, EYE)
    np.testing.assert_allclose(depth[0, 15, :], 1.0, atol=1e-5)  # Euclidean range would reach 1.41
    np.testing.assert_allclose(depth[0, 16, :], 1.0, atol=1e-5)


def test_depth_is_clipped_and_sky_is_max_depth() -> None:
    r = Renderer(load_maze("onedim"), max_depth=10.0)
    _, depth = r.render(0.0, 0.0, NORTH, EYE)
    assert depth.max() == pytest.approx(10.0) and depth.min() > 0.0
    assert r.last_sky_mask[0, 0, :16].all()  # the top left sees only sky (the building is top right)
    assert (depth[r.last_sky_mask] == 10.0).all()
    assert not r.last_sky_mask[0, -1].any()  # the bottom row sees the floor


def _horizon_depth_reference(maze_boxes, x: float, z: float, heading: float, size: int, max_depth: float):
    """Perpendicular depth of the nearest wall face per column, by brute-force segment crossing."""
    fwd = np.array([math.sin(heading), math.cos(heading)])
    right = np.array([math.cos(heading), -math.sin(heading)])
    out = np.full(size, max_depth)
    for c in range(size):
        d = fwd + (c + 0.5 - size / 2) / (size / 2) * right
        for box in maze_boxes:
            fp = box.footprint
            for p, q in zip(fp, np.roll(fp, -1, axis=0)):
                e = q - p
                den = d[0] * -e[1] + d[1] * e[0]  # cross(d, e) with sign convention
                if abs(den) < 1e-12:
                    continue
                w = p - np.array([x, z])
                t = (w[0] * -e[1] + w[1] * e[0]) / den
                s = (w[0] * d[1] - w[1] * d[0]) / -den
                if 0.3 <= t < out[c] and -1e-9 <= s <= 1 + 1e-9:
                    out[c] = t
    return out


def test_oblique_walls_of_the_arrow_maze_match_a_brute_force_reference(arrow: Renderer) -> None:
    maze = arrow.maze
    points = free_space_points(maze, 6, seed=3)
    headings = np.random.default_rng(3).uniform(-math.pi, math.pi, len(points))
    for (x, z), h in zip(points, headings):
        _, depth = arrow.render(float(x), float(z), float(h), EYE)
        expected = _horizon_depth_reference(maze.boxes, float(x), float(z), float(h), 64, arrow.max_depth)
        # The rows next to the horizon see every wall (y 0..2) within 10 m and no floor.
        np.testing.assert_allclose(depth[0, 31], expected, atol=1e-4)
        np.testing.assert_allclose(depth[0, 32], expected, atol=1e-4)


def test_cue_covers_the_rgb_frame_only(onedim: Renderer) -> None:
    plain_rgb, plain_depth = onedim.render(0.0, 0.0, NORTH, EYE)
    frames = {}
    for cue in CUES:
        rgb, depth = onedim.render(0.0, 0.0, NORTH, EYE, cue=cue)
        np.testing.assert_array_equal(depth, plain_depth)
        assert set(np.unique(rgb)) == {0, 255}
        assert (rgb[:, 0, :] == 255).all() and (rgb[:, :, 0] == 255).all()  # white border
        assert (rgb[:, 42, 42] == 0).all()  # black shape in the centre
        frames[cue] = rgb
    areas = {cue: int((f[0] == 0).sum()) for cue, f in frames.items()}
    assert areas["triangle"] < areas["circle"] < areas["square"]
    for a in CUES:
        for b in CUES:
            assert a == b or (frames[a] != frames[b]).any()
    assert (onedim.render(0.0, 0.0, NORTH, EYE)[0] == plain_rgb).all()  # the cue leaves no trace


def test_food_cube_is_visible_and_lower_than_the_walls(onedim: Renderer) -> None:
    food = cube_box("food", 0.0, 23.0)
    without_rgb, without_depth = onedim.render(0.0, 18.0, NORTH, EYE)
    rgb, depth = onedim.render(0.0, 18.0, NORTH, EYE, extra_boxes=(food,))
    green = (rgb[1] > 150) & (rgb[0] < 60) & (rgb[2] < 80)
    rows, cols = np.nonzero(green)
    assert green[45:53, 39:46].all() and not green[:43].any()  # top edge at y 1.4: row 43.9
    assert abs(cols.mean() - 41.5) < 1.0
    assert depth[0, 17, 16] == pytest.approx(4.5, abs=1e-4)
    assert without_depth[0, 17, 16] == pytest.approx(5.5, abs=1e-4)
    assert not ((without_rgb[1] > 150) & (without_rgb[0] < 60) & (without_rgb[2] < 80)).any()


def test_invisible_cube_shows_in_depth_only(onedim: Renderer) -> None:
    ghost = cube_box("ghost", 0.0, 23.0, material=INVISIBLE_MATERIAL)
    plain_rgb, plain_depth = onedim.render(0.0, 18.0, NORTH, EYE)
    rgb, depth = onedim.render(0.0, 18.0, NORTH, EYE, extra_boxes=(ghost,))
    np.testing.assert_array_equal(rgb, plain_rgb)
    assert depth[0, 17, 16] == pytest.approx(4.5, abs=1e-4) != plain_depth[0, 17, 16]


def _tower_pixels(rgb: np.ndarray) -> np.ndarray:
    """Red tower bands above the walls (rows > 8 px above the horizon; no red wall reaches them)."""
    red = (rgb[0] > 90) & (rgb[1] < 60) & (rgb[2] < 60)
    red[34:] = False
    return red


def test_tower_is_visible_above_the_walls_towards_it(onedim: Renderer) -> None:
    tower = onedim.maze.landmarks[0]
    assert tower.kind == "tower"
    tx, tz = tower.footprint.mean(axis=0)
    bearing = math.atan2(tx - 0.0, tz - 2.0)
    rgb, _ = onedim.render(0.0, 2.0, bearing, EYE)
    rows, cols = np.nonzero(_tower_pixels(rgb))
    assert rows.size > 20 and abs(cols.mean() - 41.5) < 4.0
    rgb, _ = onedim.render(0.0, 2.0, bearing + math.pi, EYE)
    assert not _tower_pixels(rgb).any()


def test_floor_is_bright_blue_and_sky_is_the_plain_background(onedim: Renderer) -> None:
    rgb, _ = onedim.render(0.0, 0.0, NORTH, EYE)
    floor = rgb[:, 80, 42].astype(int)
    assert floor[0] == 0 and floor[2] > 150 and 0.3 < floor[1] / floor[2] < 0.45
    np.testing.assert_array_equal(rgb[:, 0, 0], (49, 77, 121))


def test_procedural_sky_shows_the_sun_to_the_south() -> None:
    r = Renderer(load_maze("cross"), rgb_size=64)
    south, _ = r.render(0.0, 12.5, SOUTH, EYE)
    north, _ = r.render(0.0, 12.5, NORTH, EYE)
    def sun(rgb: np.ndarray) -> np.ndarray:
        return (rgb[0, :20] > 250) & (rgb[1, :20] > 245)  # 35 deg up: around row 9.6

    assert sun(south).sum() > 4 and not sun(north).any()


def test_weird_poses_do_not_crash(arrow: Renderer) -> None:
    rng = np.random.default_rng(0)
    poses = [(1e4, -1e4, 0.0, EYE), (0.0, 0.0, 1e6, EYE), (-8.78, 10.0, 0.3, EYE),  # inside the west wall
             (-1.5, 3.34, 2.0, EYE), (0.0, 10.0, 1.0, 100.0), (0.0, 10.0, -2.0, -5.0), (0.0, 10.0, 0.0, FLOOR_Y)]
    poses += [(*rng.uniform(-30, 30, 2), rng.uniform(-10, 10), rng.uniform(0, 5)) for _ in range(20)]
    for x, z, h, eye in poses:
        for extras in ((), (cube_box("food", x, z),)):
            rgb, depth = arrow.render(x, z, h, eye, extras)
            assert rgb.shape == (3, 64, 64) and np.isfinite(depth).all()
            assert depth.min() >= 0.3 - 1e-6 and depth.max() <= arrow.max_depth


def test_clockwise_footprint_renders_like_counter_clockwise(onedim: Renderer) -> None:
    ccw = Box("block", "Black.mat", rect(-0.5, 0.5, 4.0, 5.0), FLOOR_Y, FLOOR_Y + 3.0)
    cw = Box("block", "Black.mat", ccw.footprint[::-1].copy(), FLOOR_Y, FLOOR_Y + 3.0)
    a = onedim.render(0.0, 0.0, NORTH, EYE, (ccw,))
    b = onedim.render(0.0, 0.0, NORTH, EYE, (cw,))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1][0, 16, 16] == pytest.approx(4.0, abs=1e-4)


@pytest.mark.parametrize("kwargs,match", [
    ({"rgb_size": 0}, "rgb_size"), ({"depth_size": 2.5}, "depth_size"), ({"fov_deg": 180.0}, "fov_deg"),
    ({"max_depth": 0.1}, "max_depth"),
])
def test_bad_constructor_arguments_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Renderer(load_maze("onedim"), **kwargs)


def test_bad_render_arguments_name_the_field(onedim: Renderer) -> None:
    with pytest.raises(ValueError, match="heading"):
        onedim.render(0.0, 0.0, float("nan"), EYE)
    with pytest.raises(ValueError, match="cue 'star'"):
        onedim.render(0.0, 0.0, NORTH, EYE, cue="star")
    with pytest.raises(ValueError, match="material 'Gold.mat'"):
        onedim.render(0.0, 0.0, NORTH, EYE, (cube_box("gold", 0.0, 5.0, material="Gold.mat"),))
    with pytest.raises(TypeError, match="Maze"):
        Renderer("onedim")  # type: ignore[arg-type]


def test_encode_depth_unity8() -> None:
    depth = np.array([[[0.3, 0.6, 5.0, 10.6, 50.0, np.inf]]], dtype=np.float32)
    np.testing.assert_array_equal(encode_depth_unity8(depth), [[[0, 0, 112, 255, 255, UNITY8_SKY]]])
    sky = np.array([[[False, False, False, False, True, True]]])
    code = encode_depth_unity8(depth, sky)
    assert code.dtype == np.float32 and code[0, 0, 4] == UNITY8_SKY
    with pytest.raises(ValueError, match="sky mask shape"):
        encode_depth_unity8(depth, sky[..., :3])


def test_arrow_green_panels_and_red_blocker_are_visible_when_faced() -> None:
    views = {lay: Renderer(load_maze("arrow", lay), rgb_size=64) for lay in ("ArrowMazeTask1", "ArrowMazeTask2")}
    for heading in (NORTH, SOUTH):  # both faces of the north arm at x in [-0.27, 3.73]
        rgb, _ = views["ArrowMazeTask1"].render(1.7, 18.2, heading, EYE)
        green = _dominant(rgb, 1)[32:]
        assert green.mean() > 0.3 and not _dominant(rgb, 0).any()
    # On the V route from the start, heading 120 deg: the 2-2 blocker 3 m ahead, open in 2-1.
    heading = math.radians(120.0)
    blocked, depth = views["ArrowMazeTask2"].render(-4.5, 5.0, heading, EYE)
    red = _dominant(blocked, 0)
    assert red[20:44, 24:40].mean() > 0.3 and depth[0, 16, 16] == pytest.approx(2.93, abs=0.05)
    open_, depth = views["ArrowMazeTask1"].render(-4.5, 5.0, heading, EYE)
    assert not _dominant(open_, 0).any() and depth[0, 16, 16] > 5.0


@pytest.mark.parametrize("z", [8.0, 14.0, 20.0])
def test_colourless_maze_shows_no_colour_in_the_zones(z: float) -> None:
    r = Renderer(load_maze("onedim_colourless"))
    for heading in (EAST, WEST):
        rgb, _ = r.render(0.0, z, heading, EYE)
        wall = rgb[:, 27:84]
        assert not any(_dominant(wall, ch).any() for ch in range(3))
        assert (wall.min(axis=0) > 100).any()  # the white discs


LANDMARK_VIEWS = [("onedim", "tower", 0.0, 2.0), ("onedim", "building", 0.0, 9.0), ("onedim", "pyramid", 0.0, 0.0),
                  ("onedim", "mountain", 0.0, 20.0), ("onedim_colourless", "building", 0.0, 9.0),
                  ("cross", "tower", 0.0, 12.5), ("cross", "mountain", 0.0, 12.5),
                  ("arrow", "tower", 10.7, 15.0), ("arrow", "mountain", -7.28, 8.14)]


@pytest.mark.parametrize("maze_name,kind,x,z", LANDMARK_VIEWS)
def test_distal_landmarks_show_above_the_walls_towards_them(maze_name: str, kind: str, x: float, z: float) -> None:
    import dataclasses

    maze = load_maze(maze_name)
    (mark,) = [m for m in maze.landmarks if m.kind == kind]
    bare = dataclasses.replace(maze, landmarks=tuple(m for m in maze.landmarks if m is not mark))
    with_mark, without = Renderer(maze, rgb_size=84), Renderer(bare, rgb_size=84)
    tx, tz = mark.footprint.mean(axis=0)
    bearing = math.atan2(tx - x, tz - z)
    changed = (with_mark.render(x, z, bearing, EYE)[0] != without.render(x, z, bearing, EYE)[0]).any(axis=0)
    rows, cols = np.nonzero(changed)
    assert rows.size > 40 and rows.max() < 42  # above the horizon only: seen over the walls
    assert abs(cols.mean() - 41.5) < 6.0
    behind = (with_mark.render(x, z, bearing + math.pi, EYE)[0] != without.render(x, z, bearing + math.pi, EYE)[0])
    assert not behind.any()


def test_hackathon_camera_clips_at_20_m_with_a_white_1d_sky() -> None:
    head = Renderer(load_maze("onedim"), max_depth=30.0)
    hack = Renderer(load_maze("onedim"), max_depth=30.0, camera="sep2017")
    rgb_head, depth_head = head.render(0.0, 0.0, NORTH, EYE)
    rgb_hack, depth_hack = hack.render(0.0, 0.0, NORTH, EYE)
    assert depth_head[0, 16, 16] == pytest.approx(23.5, abs=1e-3)  # the north wall
    assert depth_hack[0, 16, 16] == 30.0 and hack.last_sky_mask[0, 16, 16]  # beyond the far plane
    assert (rgb_hack[:, 42, 42] == 255).all() and not (rgb_head[:, 42, 42] == 255).all()
    np.testing.assert_array_equal(rgb_hack[:, 0, 0], (255, 255, 255))
    np.testing.assert_array_equal(rgb_hack[:, 80, 42], rgb_head[:, 80, 42])  # near floor unchanged
    near = depth_head < 20.0
    np.testing.assert_array_equal(depth_hack[near], depth_head[near])
    with pytest.raises(ValueError, match="valid cameras: dec2017, sep2017"):
        Renderer(load_maze("onedim"), camera="2016")
