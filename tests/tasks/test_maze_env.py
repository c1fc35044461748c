"""The gymnasium surface of the simulator: spaces, info contract, seeding, vectorisation, errors."""

import functools

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tasks
from tasks.env import encode_depth_unity8
from tasks.reference import run_reference
from tasks.rules import TASK_IDS

headless = functools.partial(tasks.make, render_observations=False)
INFO_TYPES = {"pose": np.ndarray, "task": str, "maze": str, "zone": (str, type(None)),
              "target": (str, type(None)), "cue": (str, type(None)), "cued_target": (str, type(None)), "ticks": int,
              "frames": int,
              "cumulative_reward": float, "success": bool, "failure": bool, "trial": int, "task_complete": bool}


def test_every_task_is_registered_with_gymnasium():
    assert tasks.GYM_IDS["1-3"] == "wba/OneDim-1-3-v0"
    assert tasks.GYM_IDS["1-8a"] == "wba/OneDim-1-8a-v0"
    assert tasks.GYM_IDS["2-1"] == "wba/Arrow-2-1-v0"
    assert tasks.GYM_IDS["3-1"] == "wba/Cross-3-1-v0"
    assert tasks.GYM_IDS["curriculum"] == "wba/Curriculum-v0"
    for task, gym_id in tasks.GYM_IDS.items():
        env = gymnasium.make(gym_id, render_observations=False)
        _, info = env.reset(seed=0)
        assert info["task"] == (task if task != "curriculum" else "1-1")


def test_observation_and_info_follow_the_contract():
    env = tasks.make("1-7")
    obs, info = env.reset(seed=0)
    assert set(obs) == {"rgb", "depth", "odometry"}
    assert obs["rgb"].dtype == np.uint8 and obs["rgb"].shape == (3, 84, 84)
    assert obs["depth"].dtype == np.float32 and obs["depth"].shape == (1, 32, 32)
    assert 0.0 <= obs["depth"].min() and obs["depth"].max() <= 10.0
    assert obs["odometry"].tolist() == [0.0, 0.0]
    assert env.observation_space.contains(obs)
    for action, odometry in ((0, [10.0, 0.0]), (1, [-10.0, 0.0]), (2, [0.0, 2.0])):
        obs, reward, terminated, truncated, info = env.step(action)
        assert obs["odometry"].tolist() == odometry and truncated is False
        assert env.observation_space.contains(obs)
    assert set(info) == set(INFO_TYPES)
    for key, kind in INFO_TYPES.items():
        assert isinstance(info[key], kind), key
    assert info["pose"].dtype == np.float32 and info["pose"].shape == (3,)
    assert info["maze"] == "onedim" and info["cue"] in ("circle", "triangle", "square")


@pytest.mark.parametrize("task", ["1-7", "1-8d"])
def test_cue_covers_the_rgb_view_but_not_depth(task):
    env = tasks.make(task, noop_action=True)
    shapes = set()
    for seed in (0, 1, 11):  # blue, green, red
        obs, info = env.reset(seed=seed)
        assert info["cue"] is not None
        shapes.add(obs["rgb"].tobytes())
        cue_depth, steps = obs["depth"], 0
        while info["cue"] is not None:
            assert set(np.unique(obs["rgb"])) == {0, 255}  # black shape on white, the whole frame
            assert (obs["rgb"][:, 0] == 255).all() and (obs["rgb"][:, 42, 42] == 0).all()
            np.testing.assert_array_equal(obs["depth"], cue_depth)
            obs, _, _, _, info = env.step(3)
            steps += 1
        assert steps == 13 if task == "1-7" else 10  # 130 ticks / 120 frames at 10 ticks per step
        assert len(np.unique(obs["rgb"])) > 2  # the corridor
        np.testing.assert_array_equal(obs["depth"], cue_depth)  # same pose: the cue was never in depth
        assert info["cued_target"] == info["target"]  # the cue teacher's signal outlives the cue
    assert len(shapes) == 3


def test_heading_convention_and_wrapping():
    env = headless("3-2", noop_action=True)
    _, info = env.reset(seed=0)
    yaw0 = env.unwrapped.trial.yaw
    for k in range(1, 37):
        _, _, _, _, info = env.step(0)
        expected = np.deg2rad(((yaw0 + 10 * k + 180) % 360) - 180)
        if np.isclose(expected, -np.pi):
            expected = np.pi
        assert info["pose"][2] == pytest.approx(expected, abs=1e-6)
        assert -np.pi < info["pose"][2] <= np.pi + 1e-6


def test_seeded_reset_is_fully_deterministic():
    def run(seed):
        env = tasks.make("1-7")
        env.reset(seed=seed)
        rng = np.random.default_rng(7)
        trace = []
        for _ in range(700):  # several trials of random-target task 1-7
            obs, reward, terminated, _, info = env.step(int(rng.integers(3)))
            trace.append((obs["rgb"].tobytes(), obs["depth"].tobytes(), reward, info["pose"].tobytes(),
                          info["target"], info["ticks"]))
            if terminated:
                env.reset()
        return trace

    a, b = run(5), run(5)
    assert a == b
    env = headless("1-7")
    assert len({env.reset(seed=s)[1]["target"] for s in range(30)}) == 3


def test_sync_vector_env_runs_and_autoresets():
    n = 4
    envs = gymnasium.vector.SyncVectorEnv([lambda t=t: tasks.make(t) for t in ("1-3", "2-1", "3-2", "1-8d")])
    obs, infos = envs.reset(seed=0)
    assert obs["rgb"].shape == (n, 3, 84, 84) and obs["depth"].shape == (n, 1, 32, 32)
    assert list(infos["task"]) == ["1-3", "2-1", "3-2", "1-8d"]
    ended = 0
    rng = np.random.default_rng(0)
    for _ in range(400):
        obs, rewards, terminated, truncated, infos = envs.step(rng.integers(3, size=n))
        assert rewards.shape == (n,) and not truncated.any()
        ended += int(terminated.sum())
    assert ended >= n  # every random trial fails by step 181, then autoresets
    envs.close()


def test_gymnasium_make_vec():
    envs = gymnasium.make_vec("wba/OneDim-1-3-v0", num_envs=3, render_observations=False)
    obs, infos = envs.reset(seed=0)
    assert obs["depth"].shape == (3, 1, 32, 32)
    obs, rewards, terminated, truncated, infos = envs.step(np.array([2, 2, 2]))
    assert rewards.tolist() == pytest.approx([-0.01] * 3) and infos["pose"][:, 1].tolist() == [2.0] * 3
    envs.close()


def test_hackathon_camera_follows_the_version_and_can_be_chosen():
    sep = tasks.make("1-3", version="sep2017")
    obs, _ = sep.reset(seed=0)
    assert sep.camera == "sep2017" and (obs["rgb"][:, 42, 42] == 255).all()  # corridor end beyond 20 m
    head_cam = tasks.make("1-3", version="sep2017", camera="dec2017")
    obs, _ = head_cam.reset(seed=0)
    assert not (obs["rgb"][:, 42, 42] == 255).all()
    with pytest.raises(ValueError, match="valid cameras"):
        tasks.make("1-3", camera="unity")


def test_render_shows_view_beside_top_down_map():
    env = tasks.make("2-1", render_mode="rgb_array")
    env.reset(seed=0)
    for a in (0, 0, 2, 2):
        env.step(a)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[1] > frame.shape[0]  # view and map side by side
    assert tasks.make("2-1").render() is None  # no render_mode


def test_invisible_goal_is_in_depth_only():
    env = tasks.make("2-2", noop_action=True)
    env.reset(seed=0)
    for a in [2] * 5 + [0] * 9 + [2] * 9 + [0] * 9:  # north loop to the east arm, facing south
        obs, *_ = env.step(a)
    hidden = env.unwrapped._render_view()
    env.unwrapped.trial.foods.clear()
    env.unwrapped._food_boxes.clear()
    empty = env.unwrapped._render_view()
    assert np.array_equal(hidden[0], empty[0])  # RGB: nothing there
    assert not np.array_equal(hidden[1], empty[1])  # depth: the cube


def test_unity8_depth_codes():
    env = tasks.make("1-3", depth_encoding="unity8")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["depth"].min() >= 0 and obs["depth"].max() <= 255
    d = np.array([[[0.5, 5.6, 30.0, 30.0]]], np.float32)
    sky = np.array([[[False, False, False, True]]])
    assert encode_depth_unity8(d, sky, "dec2017").tolist() == [[[0.0, 128.0, 255.0, 74.0]]]
    assert encode_depth_unity8(d, sky, "sep2017").tolist() == [[[13.0, 143.0, 255.0, 255.0]]]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="valid task ids: 1-1, 1-2"):
        tasks.make("1-9")
    env = headless("1-3")
    env.reset(seed=0)
    for bad in (3, -1, 2.5, "2", None):
        with pytest.raises(ValueError, match="valid actions: 0 = turn right"):
            env.step(bad)
    assert headless("1-3", noop_action=True).reset(seed=0) and headless("1-3", noop_action=True).action_space.n == 4
    with pytest.raises(ValueError, match="version"):
        tasks.make("1-3", version="2018")
    with pytest.raises(ValueError, match="ticks_per_step"):
        tasks.make("1-3", ticks_per_step=0)
    with pytest.raises(ValueError, match="invisible_goal"):
        tasks.make("1-3", invisible_goal=True)
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"histroy": "S"})


def test_a_trial_can_start_at_a_given_pose_and_target_to_replay_a_recorded_one():
    env = headless("1-6")
    _, info = env.reset(seed=0, options={"start": (0.0, 10.0, 180), "target": "blue"})
    assert np.allclose(info["pose"], [0.0, 10.0, np.pi]) and info["target"] == "blue"
    _, _, _, _, info = env.step(2)  # forward 2 m, facing south
    assert np.allclose(info["pose"][:2], [0.0, 8.0])
    _, info = env.reset()  # the next trial is the rules' own again
    assert np.allclose(info["pose"], [0.0, 0.0, 0.0])
    for options, message in [({"start": (0.0, 1.0)}, "start must be \\(x, z, yaw\\)"),
                             ({"start": (0.0, 1.0, 12.5)}, "yaw in whole degrees"),
                             ({"start": (np.nan, 1.0, 0)}, "start must be"),
                             ({"target": "purple"}, "target 'purple' is not a target of task 1-6; valid: red, green"),
                             ({"target": "red"}, None)]:
        if message is None:
            assert env.reset(options=options)[1]["target"] == "red"
            continue
        with pytest.raises(ValueError, match=message):
            env.reset(options=options)
    with pytest.raises(ValueError, match="valid: none \\(the task has no target\\)"):
        headless("3-1").reset(seed=0, options={"target": "red"})


def test_step_after_the_end_asks_for_reset():
    env = headless("1-1")
    env.reset(seed=0)
    _, _, terminated, _, _ = env.step(0)
    assert terminated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_passes_gymnasium_env_checker():
    check_env(tasks.make("2-1").unwrapped, skip_render_check=True)
    check_env(gymnasium.make("wba/OneDim-1-8d-v0", render_mode="rgb_array").unwrapped)


@pytest.mark.parametrize("task", ["1-3", "2-3", "3-1"])
def test_reference_solution_with_rendering(task):
    assert run_reference(tasks.make(task, noop_action=True), seed=1)["success"]


def test_registry_and_task_ids_agree():
    assert set(tasks.GYM_IDS) == {*TASK_IDS, "curriculum", *tasks.ARENA_IDS}


@pytest.mark.parametrize("task", TASK_IDS)
def test_random_play_with_rendering_stays_in_the_spaces(task):
    # Both rule versions and both depth encodings; trials end and reset along the way.
    for version, encoding in (("dec2017", "metres"), ("sep2017", "unity8")):
        env = tasks.make(task, version=version, depth_encoding=encoding, noop_action=True)
        obs, info = env.reset(seed=1)
        rng = np.random.default_rng(1)
        for _ in range(200):
            obs, reward, terminated, truncated, info = env.step(int(rng.integers(4)))
            assert env.observation_space.contains(obs) and np.isfinite(reward)
            assert info["task"] == task and info["ticks"] <= 1801 + 2000 * 3
            if terminated:
                assert info["success"] != info["failure"]
                obs, info = env.reset()


def test_only_cue_tasks_name_a_cued_target():
    assert headless("1-3").reset(seed=0)[1]["cued_target"] is None
    assert headless("1-7").reset(seed=0)[1]["cued_target"] in ("red", "green", "blue")
