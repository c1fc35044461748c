"""Training and evaluation with several environments per worker, end to end on a small brain."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from brain import evaluate
from brain.recording import open_run
from brain.training.config import TrainConfig
from brain.training.rundir import load_checkpoint, read_episodes
from brain.training.train import train

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")
ENVS = 3


@pytest.fixture(scope="module")
def batched_run(tmp_path_factory) -> Path:
    cfg = TrainConfig(connectome=TINY, task="1-1", workers=1, envs_per_worker=ENVS, steps=900, seed=2, t_max=10,
                      out=str(tmp_path_factory.mktemp("batched") / "run"), checkpoint_every=10**9, record_every=1)
    return train(cfg)


def test_the_episode_table_holds_every_environments_episodes(batched_run: Path):
    rows = read_episodes(batched_run)
    assert {row["worker"] for row in rows} == {"0"}
    per_env = Counter(row["env"] for row in rows)
    assert set(per_env) == {str(index) for index in range(ENVS)}, per_env
    assert len(rows) == load_checkpoint(batched_run)["episodes"]


def test_the_recording_keeps_each_environments_episodes_apart(batched_run: Path):
    recording = open_run(batched_run)
    table = sorted((int(row["env"]), int(row["steps"]), row["success"] == "True") for row in read_episodes(batched_run))
    recorded = sorted((int(row["env"]), int(row["length"]), bool(row["success"])) for row in recording.index)
    assert recorded == table
    for position in range(len(recording)):
        episode = recording.episode(position)
        pose = episode.pose
        moved = np.linalg.norm(np.diff(pose[:, :2], axis=0), axis=1)
        turned = np.abs(np.angle(np.exp(1j * np.diff(pose[:, 2]))))
        # one action between two recorded steps: at most a 2 m move or a 10 degree turn (rows of other
        # environments interleaved into the episode would jump)
        assert np.all(moved <= 2.0 + 1e-3) and np.all(turned <= np.radians(10) + 1e-3), episode


def test_a_run_resumes_with_another_number_of_environments(batched_run: Path):
    before = load_checkpoint(batched_run)
    cfg = TrainConfig.from_yaml(batched_run / "config.yaml")
    cfg.steps, cfg.envs_per_worker = before["steps"] + 200, 1
    train(cfg, resume=True)
    after = load_checkpoint(batched_run)
    assert after["steps"] >= before["steps"] + 200 and after["episodes"] > before["episodes"]
    assert TrainConfig.from_yaml(batched_run / "config.yaml").envs_per_worker == 1
    rows = read_episodes(batched_run)
    assert len(rows) == after["episodes"]
    assert {row["env"] for row in rows[before["episodes"]:]} == {"0"}


def test_evaluation_plays_exactly_the_episodes_asked_for_side_by_side(batched_run: Path, capsys):
    results = evaluate.evaluate(batched_run, "1-1", episodes=7, greedy=False, seed=3, record=batched_run / "e.h5",
                                envs_at_once=3)
    assert len(results) == 7 and all(result.task == "1-1" for result in results)
    recording = open_run(batched_run / "e.h5")
    assert sorted(recording.index["length"].tolist()) == sorted(result.steps for result in results)
    assert set(recording.index["env"].tolist()) == {0, 1, 2}


def test_a_row_of_a_batched_evaluation_plays_as_one_environment_alone(batched_run: Path):
    """Greedy, seeded: environment 0 of a batch of two plays the same first episode as a batch of one."""
    alone = evaluate.evaluate(batched_run, "1-1", episodes=1, greedy=True, seed=11)
    evaluate.evaluate(batched_run, "1-1", episodes=2, greedy=True, seed=11, record=batched_run / "pair.h5",
                      envs_at_once=2)
    index = open_run(batched_run / "pair.h5").index
    assert index["length"][index["env"] == 0].tolist() == [alone[0].steps]
