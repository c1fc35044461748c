"""The 16 tasks: reference solutions succeed, wrong ones fail, and the timing rules are exact."""

import functools

import pytest

import tasks
from tasks.reference import reference_actions, run_reference
from tasks.rules import TASK_IDS, TrialRecord, task_spec
from tasks.trial import FORWARD, NOOP, TURN_LEFT, TURN_RIGHT

make = functools.partial(tasks.make, render_observations=False)
R, L, F, N = TURN_RIGHT, TURN_LEFT, FORWARD, NOOP


def play(env, actions):
    """Step through ``actions``; returns the list of (reward, terminated, info)."""
    out = []
    for a in actions:
        _, reward, terminated, _, info = env.step(a)
        out.append((reward, terminated, info))
        if terminated:
            break
    return out


# How many distinct trials (target, start pose) each task can draw: the reference test covers all.
VARIANTS = {"1-1": 3, "1-6": 3, "1-7": 3, "1-8c": 3, "1-8d": 3, "3-1": 3, "3-2": 4}


def trial_variants(task, version):
    """(seed, reset options) of one trial per distinct target / start of ``task``.

    Random tasks (1-7, 1-8d, 3-1, 3-2): the first seeds that draw each target or start.
    History-driven ones: 1-6/1-8c cycle with S + F, 1-1's start moves with S - F (22 m, 17 m, 0 m).
    """
    if task in ("1-6", "1-8c"):
        return [(0, {"history": h}) for h in ("", "F", "SF")]
    if task == "1-1":
        return [(0, {"history": "S" * k}) for k in (0, 5, 22)]
    env = make(task, version=version)
    seen = {}
    for seed in range(200):
        env.reset(seed=seed)
        trial = env.unwrapped.trial
        seen.setdefault((trial.target, trial.yaw, trial.x, trial.z), (seed, None))
    return list(seen.values())


@pytest.mark.parametrize("version", ["dec2017", "sep2017"])
@pytest.mark.parametrize("task", TASK_IDS)
def test_reference_solution_succeeds_for_every_target_and_start(task, version):
    # Waits ("3" in the automation) are the no-op action.
    env = make(task, version=version, noop_action=True)
    variants = trial_variants(task, version)
    assert len(variants) == VARIANTS.get(task, 1)
    targets = set()
    for seed, options in variants:
        info = run_reference(env, seed=seed, options=options)
        assert info["success"] and not info["failure"], (task, seed, options, info)
        assert info["cumulative_reward"] > 1.5
        targets.add(info["target"])
    if task in ("1-6", "1-7", "1-8c", "1-8d"):
        assert targets == {"red", "green", "blue"}


def test_rewards_are_the_steps_of_the_running_total():
    env = make("3-2", noop_action=True)
    _, info = env.reset(seed=0)
    total = 0.0
    for reward, terminated, info in play(env, reference_actions("3-2", start_yaw=env.unwrapped.trial.yaw)):
        total += reward
        assert info["cumulative_reward"] == pytest.approx(total, abs=1e-9)
    assert terminated and info["success"]
    assert info["cumulative_reward"] == pytest.approx(6.0 - info["ticks"] / 1000)  # 3 foods, 1 tick each


@pytest.mark.parametrize("version", ["dec2017", "sep2017"])
@pytest.mark.parametrize("task", TASK_IDS)
def test_every_task_fails_at_tick_1801_without_reward(task, version):
    env = make(task, version=version)
    env.reset(seed=0, options={"history": "S" * 5 if task == "1-1" else ""})  # 1-1: start 5 m from the food
    steps = play(env, [R, L] * 100)
    reward, terminated, info = steps[-1]
    assert terminated and info["failure"] and not info["success"]
    assert info["ticks"] == 1801 and info["cumulative_reward"] == pytest.approx(-1.801)
    assert len(steps) == 181


@pytest.mark.parametrize("task", ["1-3", "1-8d", "2-2", "3-2"])
def test_reference_solution_succeeds_with_turns_as_waits(task):
    # Without the no-op action, waiting is alternating right/left turns (turning counts as staying).
    info = run_reference(make(task, noop_action=False), seed=0)
    assert info["success"]


OTHER = {"red": "green", "green": "red", "blue": "red"}


def wrong_actions(env, task):
    """A plausible but wrong solution for the trial that ``env`` has just started."""
    trial = env.unwrapped.trial
    if trial.target in OTHER and task != "1-2":
        return reference_actions(task, OTHER[trial.target])
    return {
        "1-1": [R] * 10,
        "1-2": [F] * 5 + [R] * 18 + [F] * 5,  # turns back before green
        "2-1": [R] * 11 + [F] * 8 + [L] * 4 + [F] * 8,  # V route without the wait: no food appears
        "2-2": reference_actions("2-1"),  # the learned V route is blocked
        "2-3": [R] * 10,
        "3-1": [R] * 18 + [F] * 11,  # away from the food
        "3-2": reference_actions("3-2", start_yaw=trial.yaw)[:-6],  # skips the east arm
    }[task]


@pytest.mark.parametrize("task", TASK_IDS)
def test_wrong_solution_fails(task):
    env = make(task, noop_action=True)
    history = "S" * 5 if task == "1-1" else ""  # 1-1 starts on the food at S - F = 0
    env.reset(seed=0, options={"history": history})
    while env.unwrapped.trial.cue is not None:
        env.step(NOOP)
    steps = play(env, wrong_actions(env, task))
    info = steps[-1][2]
    while not steps[-1][1]:
        steps = play(env, [NOOP])
        info = steps[-1][2]
    assert info["failure"] and not info["success"]
    assert info["ticks"] >= 1801


def test_failure_at_exactly_tick_1801_without_reward():
    env = make("1-3", ticks_per_step=1)
    env.reset(seed=0)
    steps = play(env, [R] * 2000)
    reward, terminated, info = steps[1799]
    assert not terminated and info["ticks"] == 1800 and info["cumulative_reward"] == pytest.approx(-1.8)
    # Tick 1801 brings the total to -1.801; Environment.Update sees it on the next frame (2162),
    # which falls in the following one-tick step, before tick 1802.
    assert steps[1800][2]["cumulative_reward"] == pytest.approx(-1.801) and not steps[1800][1]
    reward, terminated, info = steps[-1]
    assert len(steps) == 1802 and reward == 0.0
    assert terminated and info["failure"] and (info["ticks"], info["frames"]) == (1801, 2162)
    assert sum(r for r, _, _ in steps) == pytest.approx(-1.801)


def test_failure_on_the_181st_step_at_ten_ticks_per_step():
    env = make("1-3")
    env.reset(seed=0)
    steps = play(env, [R] * 200)
    assert len(steps) == 181
    assert steps[-1][2]["ticks"] == 1801 and steps[-1][0] == pytest.approx(-0.001)
    assert all(r == pytest.approx(-0.01) for r, _, _ in steps[:-1])


def test_tick_wait_fires_on_the_121st_consecutive_tick():
    env = make("1-3", noop_action=True, ticks_per_step=1)
    env.reset(seed=0)
    steps = play(env, [F] * 6)  # z = 12: in green since this step's tick (#1)
    assert steps[-1][2]["zone"] == "green"
    steps = play(env, [N] * 119)  # ticks #2..#120: no bonus yet
    assert all(r == pytest.approx(-0.001) for r, _, _ in steps)
    reward, _, info = play(env, [N])[0]  # tick #121
    assert reward == pytest.approx(2.0 - 0.001)
    assert env.unwrapped.trial.foods, "the bonus spawns the food"


def test_leaving_the_zone_resets_the_wait_counter():
    env = make("1-3", noop_action=True, ticks_per_step=1)
    env.reset(seed=0)
    play(env, [F] * 7)  # z = 14; ticks #1, #2 in green
    play(env, [N] * 118)  # #120
    steps = play(env, [F] + [R] * 18 + [F])  # out to z = 16, turn around, back to z = 14 (#1)
    assert steps[0][2]["zone"] is None and steps[-1][2]["zone"] == "green"
    assert all(r < 0 for r, _, _ in steps)
    steps = play(env, [N] * 120)
    assert [i for i, (r, _, _) in enumerate(steps) if r > 0] == [119]


def test_frame_wait_counts_frames_not_ticks():
    # 1-8b (red, frame-based) stepped one frame at a time: the bonus comes on frame #121.
    env = make("1-8b", noop_action=True, frames_per_step=1)
    env.reset(seed=0)
    steps = play(env, [F] * 9)  # z = 18: in red since this step's frame (#1)
    assert steps[-1][2]["zone"] == "red"
    steps = play(env, [N] * 120)
    assert [i for i, (r, _, _) in enumerate(steps) if r > 1] == [119]
    assert steps[-1][2]["frames"] == 129


def test_autorun_timing_quirk_tick_waits_fail_at_one_action_per_frame():
    # SPEC quirk 10: 130 frames (108 ticks) do not cover a 120-tick wait, but do cover 120 frames.
    assert run_reference(make("1-3", noop_action=True, frames_per_step=1), seed=0)["failure"]
    assert run_reference(make("1-8b", noop_action=True, frames_per_step=1), seed=0)["success"]
    assert run_reference(make("1-3", noop_action=True, frames_per_step=1, version="sep2017"), seed=0)["success"]
    # 1-8d's automation waits only 120 frames: enough, because the agent is already counted
    # inside on the frames of its last two moves.
    assert reference_actions("1-8d", "green").count(N) == 120
    for seed in (0, 1, 11):  # blue, green, red
        assert run_reference(make("1-8d", noop_action=True, frames_per_step=1), seed=seed)["success"]


def test_arrow_wait_fires_on_the_121st_consecutive_frame():
    env = make("2-1", noop_action=True, frames_per_step=1)
    env.reset(seed=0)
    play(env, [R] * 11)
    k = 0
    while True:  # down the V until the centre is in x in [0, 4]
        reward, _, info = play(env, [F])[0]
        k += 1
        if info["zone"] == "wait":
            break
        assert k < 8
    assert reward < 0  # frame #1 inside
    steps = play(env, [N] * 120)  # frames #2..#121
    assert [i for i, (r, _, _) in enumerate(steps) if r > 1] == [119]
    assert steps[-1][2]["zone"] == "wait" and len(env.unwrapped.trial.foods) == 1


def test_arrow_wait_counts_every_stretch_with_x_in_0_4():
    # The zone has no z test: the north arm, the middle corridor (2-3) and the V apex all count.
    env = make("2-3", noop_action=True)
    for x, z, counts in ((1.7, 18.2, True), (2.0, 8.2, True), (1.7, 1.44, True), (0.0, 18.2, True),
                         (4.0, 18.2, True), (-0.01, 18.2, False), (4.01, 8.2, False)):
        env.reset(seed=0)
        trial = env.unwrapped.trial
        trial.x, trial.z = x, z  # placed there by hand
        trial._inside = trial._in_zone()
        steps = play(env, [N] * 11)  # 132 frames
        assert (steps[-1][2]["zone"] == "wait") is counts
        assert any(r > 1 for r, _, _ in steps) is counts, (x, z)


def test_pass_through_green_gives_the_bonus_on_the_first_tick_inside():
    env = make("1-2", ticks_per_step=1)
    env.reset(seed=0)
    steps = play(env, [F] * 6)
    assert [round(r, 3) for r, _, _ in steps] == [-0.001] * 5 + [1.999]


def test_cue_paralyses_for_130_ticks_and_shows_the_target_shape():
    env = make("1-7")
    shapes = {"red": "circle", "green": "triangle", "blue": "square"}
    for seed in range(6):
        _, info = env.reset(seed=seed)
        assert info["cue"] == shapes[info["target"]]
        steps = play(env, [F] * 13)  # ticks 0..130: moves are discarded
        assert all(i["pose"][1] == 0.0 for _, _, i in steps)
        assert [i["cue"] is None for _, _, i in steps] == [False] * 12 + [True]
        obs, _, _, _, info = env.step(F)
        assert info["pose"][1] == 2.0
    # Odometry reports the commanded action even while paralysed.
    env.reset(seed=0)
    obs, *_ = env.step(F)
    assert obs["odometry"].tolist() == [0.0, 2.0]


@pytest.mark.parametrize("task,version,steps", [("1-8d", "dec2017", 10), ("1-7", "sep2017", 10)])
def test_frame_cue_lasts_120_frames(task, version, steps):
    env = make(task, version=version)
    env.reset(seed=0)
    infos = [i for _, _, i in play(env, [F] * steps)]  # 10 ticks = 12 frames per step
    assert infos[-2]["cue"] is not None and infos[-1]["cue"] is None
    assert infos[-1]["frames"] == 120 and infos[-1]["pose"][1] == 0.0


def test_cue_target_is_random_across_trials():
    env = make("1-7")
    env.reset(seed=3)
    targets = set()
    for _ in range(12):
        targets.add(env.unwrapped.trial.target)
        env.reset()
    assert targets == {"red", "green", "blue"}


@pytest.mark.parametrize("task", ["1-6", "1-8c"])
def test_target_cycles_with_trial_count_regardless_of_outcome(task):
    env = make(task, noop_action=True)
    _, info = env.reset(seed=0)
    targets = []
    for k in range(4):
        targets.append(info["target"])
        assert info["trial"] == k
        if k % 2:
            actions = reference_actions(task, info["target"])
        else:
            actions = [R] * 200
        steps = play(env, actions)
        while not steps[-1][1]:
            steps = play(env, [N])
        assert steps[-1][2]["success"] == bool(k % 2)
        _, info = env.reset()
    assert targets == ["red", "green", "blue", "red"]


def test_cycle_is_stuck_on_green_once_100_trials_are_recorded():
    env = make("1-6")
    for history in ("F" * 100, "S" * 100 + "F", "SF" * 70):
        _, info = env.reset(seed=0, options={"history": history})
        assert info["target"] == "green" and info["trial"] == 100
    # The hackathon kept every trial: the cycle goes on.
    env = make("1-6", version="sep2017")
    _, info = env.reset(seed=0, options={"history": "F" * 101})
    assert info["target"] == "blue" and info["trial"] == 101


def test_one_one_start_moves_one_metre_south_per_net_success():
    env = make("1-1")
    for history, z in (("", 22.0), ("SSS", 19.0), ("SSFS", 20.0), ("S" * 22, 0.0)):
        _, info = env.reset(seed=0, options={"history": history})
        assert info["pose"][1] == z
    # At S - F = 0 the agent starts touching the food: the first trial succeeds at once.
    _, info = env.reset(seed=0)
    _, reward, terminated, _, info = env.step(R)
    assert terminated and info["success"] and info["ticks"] == 1
    _, info = env.reset()
    assert info["pose"][1] == 21.0 and info["trial"] == 1


def test_completion_rule_fires_when_s_minus_f_exceeds_21_at_a_success():
    env = make("1-2")
    env.reset(seed=0, options={"history": "S" * 21})
    info = run_reference_from_here(env)
    assert info["success"] and not info["task_complete"]
    assert env.unwrapped.record.trials == 22
    env.reset()
    info = run_reference_from_here(env)
    assert info["task_complete"]
    _, info = env.reset()
    assert info["trial"] == 0 and info["task"] == "1-2"  # a single-task env starts the task again


def run_reference_from_here(env):
    steps = play(env, reference_actions("1-2"))
    return steps[-1][2]


def test_completion_counts_only_the_last_100_trials_at_head():
    history = "F" * 60 + "S" * 70  # window: F 30, S 70; all trials: F 60, S 70
    for version, complete in (("dec2017", True), ("sep2017", False)):
        env = make("1-2", version=version)
        env.reset(seed=0, options={"history": history})
        assert run_reference_from_here(env)["task_complete"] is complete


def test_failures_do_not_complete_a_task():
    env = make("1-3")
    env.reset(seed=0, options={"history": "S" * 40})
    steps = play(env, [R] * 200)
    assert steps[-1][2]["failure"] and not steps[-1][2]["task_complete"]


@pytest.mark.parametrize("version", ["dec2017", "sep2017"])
def test_curriculum_moves_to_the_next_task_on_completion(version):
    env = make("curriculum", version=version, noop_action=True)
    _, info = env.reset(seed=0, options={"history": "S" * 22})
    assert info["task"] == "1-1" and info["pose"][1] == 0.0
    info = play(env, [F] * 11)[-1][2]
    assert info["task_complete"] and info["task"] == "1-1"
    _, info = env.reset()
    assert info["task"] == "1-2" and info["trial"] == 0
    last = make("curriculum", version=version, start_task="2-3", noop_action=True)
    last.reset(seed=0, options={"history": "S" * 22})
    assert run_reference_from(last)["task_complete"]
    _, info = last.reset()
    assert info["task"] == "1-1"


def run_reference_from(env):
    steps = play(env, reference_actions(env.unwrapped.task))
    return steps[-1][2]


def test_arrow_wait_spawns_a_visible_food_at_the_goal():
    env = make("2-1", noop_action=True)
    env.reset(seed=0)
    assert env.unwrapped.trial.foods == []
    steps = play(env, [R] * 11 + [F] * 8 + [N] * 20)
    assert steps[-1][2]["zone"] == "wait"
    assert any(r > 1.9 for r, _, _ in steps)
    (food,) = env.unwrapped.trial.foods
    assert food.food.visible and (food.food.x, food.food.z) == (10.56, 8.05)


NORTH_LOOP_NO_WAIT = [F] * 5 + [R] * 9 + [F] * 9 + [R] * 9 + [F] * 5


def test_invisible_goal_of_2_2_succeeds_without_waiting():
    env = make("2-2")
    env.reset(seed=0)
    info = play(env, NORTH_LOOP_NO_WAIT)[-1][2]
    assert info["success"] and info["cumulative_reward"] == pytest.approx(2.0 - info["ticks"] / 1000)
    env = make("2-2", invisible_goal=False)
    env.reset(seed=0)
    info = play(env, NORTH_LOOP_NO_WAIT)[-1][2]
    assert not info["success"] and not info["failure"]


def test_hackathon_arrow_wait_only_adds_two_and_the_goal_is_invisible():
    env = make("2-1", version="sep2017", noop_action=True)
    env.reset(seed=0)
    steps = play(env, [R] * 11 + [F] * 8 + [N] * 20)
    assert any(r > 1.9 for r, _, _ in steps)
    assert [f.food.visible for f in env.unwrapped.trial.foods] == [False]
    with pytest.raises(ValueError, match="no reward to reach"):
        task_spec("2-1", "sep2017", invisible_goal=False)


def test_hackathon_targets_of_1_8a_and_1_8b():
    assert task_spec("1-8a", "sep2017").target == "red" and task_spec("1-8a").target == "green"
    assert task_spec("1-8b", "sep2017").target == "blue" and task_spec("1-8b").target == "red"


def test_cross_starts_are_drawn_uniformly():
    env = make("3-1")
    starts = {tuple(round(float(v), 2) for v in env.reset(seed=s)[1]["pose"]) for s in range(30)}
    assert starts == {(0.0, 1.08, 0.0), (12.0, 12.5, -1.57), (-12.0, 12.5, 1.57)}
    env = make("3-2")
    headings = {round(float(env.reset(seed=s)[1]["pose"][2]), 2) for s in range(30)}
    assert headings == {0.0, -1.57, 1.57, 3.14}


def test_3_2_needs_all_three_foods():
    env = make("3-2")
    env.reset(seed=0)
    steps = play(env, reference_actions("3-2", start_yaw=env.unwrapped.trial.yaw))
    gains = [r for r, _, _ in steps if r > 1]
    assert len(gains) == 3 and steps[-1][2]["success"]


def test_trial_record_window_and_validation():
    rec = TrialRecord(window=3, history="SSF")
    rec.add(False)  # the oldest S drops out
    assert (rec.successes, rec.failures, rec.history()) == (1, 2, "SFF")
    with pytest.raises(ValueError, match="'S' and 'F'"):
        TrialRecord(history="SX")
