"""The open arena: its box and cues, its small-step kinematics, the water-maze rule, the contract the brain reads."""

import math

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import tasks
from regions.base import TeacherInput
from regions.teachers import place_cell_teacher
from tasks.arena import ARENA_TASKS, WALL_STARTS, ArenaEnv
from tasks.geometry import ARENA_SIZE, load_maze
from tasks.physics import ARENA_COLLISION_RADIUS

FORWARD, RIGHT, LEFT = 2, 0, 1
NORTH, EAST, SOUTH, WEST = 0.0, math.pi / 2, math.pi, -math.pi / 2


def headless(task="openfield", **kwargs):
    return ArenaEnv(task, render_observations=False, **kwargs)


@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space")  # the actions are degrees and metres
def test_arena_tasks_are_registered_with_gymnasium_and_pass_its_checker():
    assert tasks.GYM_IDS["openfield"] == "wba/OpenField-v0" and tasks.GYM_IDS["watermaze"] == "wba/WaterMaze-v0"
    for task in ("openfield", "watermaze"):
        env = gymnasium.make(tasks.GYM_IDS[task], render_observations=False)
        assert env.reset(seed=0)[1]["task"] == task
        assert isinstance(tasks.make(task), ArenaEnv)
    check_env(gymnasium.make("wba/WaterMaze-v0", render_mode="rgb_array").unwrapped)
    check_env(tasks.make("openfield", kinematics="continuous"), skip_render_check=True)


def test_observation_and_info_follow_the_maze_contract():
    env = tasks.make("watermaze")
    obs, info = env.reset(seed=0)
    assert set(obs) == {"rgb", "depth", "odometry"} and env.observation_space.contains(obs)
    assert obs["rgb"].shape == (3, 84, 84) and obs["depth"].shape == (1, 32, 32)
    assert set(info) == set(tasks.INFO_KEYS)
    assert info["pose"].dtype == np.float32 and info["maze"] == "openfield" and info["task"] == "watermaze"
    for action, odometry in ((RIGHT, [15.0, 0.0]), (LEFT, [-15.0, 0.0]), (FORWARD, [0.0, 0.1])):
        obs, _, _, truncated, info = env.step(action)
        assert obs["odometry"].tolist() == pytest.approx(odometry) and truncated is False
        assert env.observation_space.contains(obs)
    assert info["ticks"] == 30 and info["frames"] == 36 and info["trial"] == 0


def test_the_box_is_2_2_m_and_its_walls_stop_the_agent():
    maze = load_maze("openfield")
    corners = np.concatenate([box.footprint for box in maze.boxes])
    assert corners.min() == pytest.approx(-ARENA_SIZE / 2 - 0.1) and corners.max() == pytest.approx(ARENA_SIZE / 2 + 0.1)
    env = headless()
    reach = ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS
    for heading, axis, sign in ((NORTH, 1, 1), (EAST, 0, 1), (SOUTH, 1, -1), (WEST, 0, -1)):
        env.reset(seed=0, options={"pose": (0.0, 0.0, heading)})
        for _ in range(15):  # 1.5 m of forward steps: the last five run into the wall
            _, _, _, _, info = env.step(FORWARD)
        assert info["pose"][axis] == pytest.approx(sign * reach, abs=1e-5)
        assert info["pose"][1 - axis] == pytest.approx(0.0, abs=1e-5)
    points = tasks.free_space_points("openfield", 4096, seed=0)
    assert len(np.unique(points, axis=0)) == 4096  # distinct centres for 4096 place cells
    assert np.abs(points).max() <= reach and np.abs(points).max() > reach - 0.05


def test_steps_are_small_and_turns_add_up():
    env = headless()
    env.reset(seed=0, options={"pose": (-0.5, -0.5, NORTH)})
    for _ in range(10):
        _, _, _, _, info = env.step(FORWARD)
    assert info["pose"][:2].tolist() == pytest.approx([-0.5, 0.5], abs=1e-6)  # ten steps of 0.1 m
    for _ in range(6):
        _, _, _, _, info = env.step(RIGHT)
    assert info["pose"][2] == pytest.approx(EAST)  # six turns of 15 deg
    for _ in range(12):
        _, _, _, _, info = env.step(LEFT)
    assert info["pose"][2] == pytest.approx(-EAST)
    for _ in range(6):
        _, _, _, _, info = env.step(LEFT)
    assert info["pose"][2] == pytest.approx(math.pi)  # headings wrap to (-pi, pi]
    env = headless(turn_deg=30.0, step_m=0.05)
    env.reset(seed=0, options={"pose": (0.0, 0.0, NORTH)})
    assert env.step(RIGHT)[4]["pose"][2] == pytest.approx(math.radians(30)) and env.step(FORWARD)[0]["odometry"][1] \
        == pytest.approx(0.05)


def test_every_wall_shows_its_own_cue_card_from_the_centre():
    env = tasks.make("openfield", rgb_size=64)
    views = {}
    for name, heading in (("north", NORTH), ("east", EAST), ("south", SOUTH), ("west", WEST)):
        obs, _ = env.reset(seed=0, options={"pose": (0.0, 0.0, heading)})
        band = obs["rgb"][:, 30:36].astype(int)  # the wall band just below the horizon
        r, g, b = band
        views[name] = {"white": ((r > 180) & (g > 180) & (b > 180)).mean(),
                       "red": ((r > 120) & (g < 60) & (b < 60)).mean(),
                       "blue": ((b > 120) & (r < 60) & (g < 80)).mean(),
                       "yellow": ((r > 120) & (g > 110) & (b < 60)).mean()}
        assert obs["depth"][0, 16, 16] == pytest.approx(ARENA_SIZE / 2, abs=0.02)  # the wall straight ahead
    for wall, colour in (("north", "white"), ("east", "red"), ("south", "blue"), ("west", "yellow")):
        assert views[wall][colour] > 0.1, (wall, views[wall])
        assert all(views[other][colour] < 0.02 for other in views if other != wall), colour


def test_the_agent_never_sees_through_a_wall_it_touches():
    env = tasks.make("openfield")
    reach = ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS
    for pose in ((0.0, reach, NORTH), (reach, reach, math.pi / 4), (-reach, 0.3, WEST + 0.3)):
        obs, _ = env.reset(seed=0, options={"pose": pose})
        assert obs["depth"][0, 16].max() < 0.5  # the wall fills the middle row, nothing behind it shows
        assert obs["depth"][0, 16].min() > 0.0


def test_water_maze_starts_at_a_wall_facing_it_and_rewards_the_hidden_platform():
    env = headless("watermaze")
    starts = set()
    for seed in range(12):
        _, info = env.reset(seed=seed)
        x, z, heading = (float(v) for v in info["pose"])
        assert any(np.allclose((x, z, heading), start, atol=1e-6) for start in WALL_STARTS)
        assert max(abs(x), abs(z)) == pytest.approx(ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS - 0.05, abs=1e-6)
        starts.add((round(x, 3), round(z, 3)))
    assert len(starts) == 4
    px, pz, radius = ARENA_TASKS["watermaze"].platform
    assert (px, pz, radius) == (0.55, 0.55, 0.15)
    env.reset(seed=0, options={"pose": (px, pz - 0.3, NORTH)})
    _, reward, terminated, _, info = env.step(FORWARD)  # 0.2 m from the centre: not yet on it
    assert reward == pytest.approx(-0.01) and not terminated and info["zone"] is None
    _, reward, terminated, truncated, info = env.step(FORWARD)  # 0.1 m: on it
    assert reward == pytest.approx(2.0 - 0.01) and terminated and not truncated
    assert info["success"] and not info["failure"] and info["zone"] == "platform"
    assert info["cumulative_reward"] == pytest.approx(2.0 - 0.02)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(FORWARD)
    _, info = env.reset()
    assert info["trial"] == 1


def test_water_maze_fails_at_60_seconds_and_the_open_field_is_cut_off_at_120():
    env = headless("watermaze")
    env.reset(seed=0)
    for step in range(1, 301):
        _, reward, terminated, truncated, info = env.step(RIGHT)  # turning on the spot never finds it
        assert reward == pytest.approx(-0.01) and not truncated
        assert terminated == (step == 300)
    assert info["failure"] and info["ticks"] == 3000 and info["cumulative_reward"] == pytest.approx(-3.0)
    env = headless("openfield")
    env.reset(seed=0)
    for step in range(1, 601):
        _, reward, terminated, truncated, info = env.step(step % 3)
        assert reward == 0.0 and not terminated and truncated == (step == 600)
    assert not info["failure"] and not info["success"]


def test_water_maze_completes_by_the_2017_rule():
    env = headless("watermaze")
    completions = []
    for trial in range(23):
        env.reset(seed=0 if trial == 0 else None, options={"pose": (0.55, 0.3, NORTH)})
        _, _, _, _, info = env.step(FORWARD)
        _, _, terminated, _, info = env.step(FORWARD)
        assert terminated and info["success"]
        completions.append(info["task_complete"])
    assert completions == [False] * 22 + [True]  # S - F > 21 at the 23rd success


def test_continuous_kinematics_turn_then_move():
    env = headless(kinematics="continuous")
    assert isinstance(env.action_space, gymnasium.spaces.Box) and env.action_space.shape == (2,)
    env.reset(seed=0, options={"pose": (0.0, 0.0, NORTH)})
    obs, _, _, _, info = env.step(np.array([-90.0, 0.3], np.float32))
    assert info["pose"].tolist() == pytest.approx([-0.3, 0.0, WEST], abs=1e-6)
    assert obs["odometry"].tolist() == pytest.approx([-90.0, 0.3])
    _, _, _, _, info = env.step(np.array([180.0, 0.0], np.float32))
    assert info["pose"][2] == pytest.approx(EAST)


def test_bad_actions_options_and_arguments_name_the_valid_ones():
    env = headless()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="2 = forward 0.1 m"):
        env.step(5)
    env = headless(kinematics="continuous")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="move_m in"):
        env.step(np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="valid: \\['pose', 'probe'\\]"):
        env.reset(options={"history": "SS"})
    with pytest.raises(ValueError, match="is not free"):
        env.reset(options={"pose": (1.05, 0.0, 0.0)})
    with pytest.raises(ValueError, match="valid arena tasks: openfield, watermaze"):
        ArenaEnv("pool")
    with pytest.raises(ValueError, match="valid: discrete, continuous"):
        ArenaEnv(kinematics="fly")
    with pytest.raises(ValueError, match="step_m must be a positive number"):
        ArenaEnv(step_m=0)
    with pytest.raises(ValueError, match="openfield, watermaze"):
        tasks.make("pool")


def test_render_shows_the_view_beside_the_map_with_the_hidden_platform():
    env = tasks.make("watermaze", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(FORWARD)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[0] == 252
    assert (frame == np.array((160, 230, 170), np.uint8)).all(axis=-1).sum() > 100  # the platform disc


def test_place_cell_teacher_maps_the_arena():
    env = headless("openfield")
    infos = [[env.reset(seed=seed)[1]] for seed in range(5)]  # T = 5, B = 1
    teacher = place_cell_teacher(256, sigma=0.12)
    targets = teacher.signal(TeacherInput(infos=infos, rewards=np.zeros((5, 1), np.float32)))
    assert targets.shape == (5, 1, 256) and torch.allclose(targets.sum(-1), torch.ones(5, 1))
    centres = teacher.signal.for_maze("openfield").centres
    assert centres.abs().max() <= ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS


def test_the_wba_brain_acts_in_the_arena_unchanged():
    from brain import Brain
    from brain.training.acting import EnvironmentBatch, act, sample_actions
    from brain.training.environment import ConnectomeInputs

    brain = Brain.from_connectome("wba")
    keys = tuple(brain.connectome.inputs)
    envs = EnvironmentBatch([ConnectomeInputs(tasks.make("watermaze"), keys) for _ in range(2)], seeds=[0, 1])
    state = brain.initial_state(2)
    with torch.no_grad():
        for _ in range(3):
            step, state = act(brain, envs, state, sample_actions)
    assert step.output.logits.shape == (2, 3) and all(info["maze"] == "openfield" for info in step.infos)
    envs.close()
