"""The brain's environment ports: exactly the connectome's ``inputs:``, the reward of the last step among them."""

from __future__ import annotations

import numpy as np
import pytest

import tasks
from brain.training.environment import ConnectomeInputs

TO_THE_ZONE = [2] * 7  # task 1-2, seed 0: five steps of time penalty, then the zone bonus, then the penalty again


def test_the_reward_port_holds_the_reward_of_the_last_step_and_zero_after_a_reset():
    env = ConnectomeInputs(tasks.make("1-2"), ("odometry", "reward"))
    obs, _ = env.reset(seed=0)
    assert obs["reward"].tolist() == [0.0]
    rewards = []
    for action in TO_THE_ZONE:
        obs, reward, *_ = env.step(action)
        rewards.append(reward)
        assert obs["reward"].dtype == np.float32 and obs["reward"].tolist() == [np.float32(reward)]
    assert len(set(rewards)) > 1, f"the steps should earn different rewards: {rewards}"
    obs, _ = env.reset()
    assert obs["reward"].tolist() == [0.0]


def test_the_observations_are_exactly_the_ports_named_in_their_order():
    env = ConnectomeInputs(tasks.make("1-1"), ("reward", "depth"))
    obs, _ = env.reset(seed=0)
    assert list(obs) == ["reward", "depth"] and set(env.observation_space) == {"reward", "depth"}
    assert env.observation_space["depth"] == env.unwrapped.observation_space["depth"]
    assert env.observation_space.contains(env.step(2)[0])


def test_a_port_the_task_does_not_give_is_refused():
    with pytest.raises(KeyError, match="compass"):
        ConnectomeInputs(tasks.make("1-1"), ("depth", "compass"))
