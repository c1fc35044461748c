"""The A3C trainer end to end on a small brain: runs, logs, checkpoints, resumes, survives a killed worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
import yaml
from tensorboardX.event_file_writer import EventFileWriter  # noqa: F401  (tensorboardX is what writes tb/)

from brain.training.config import TrainConfig
from brain.training.rundir import load_checkpoint, read_episodes
from brain.training.train import prepare_run_dir, train
from brain.training.trainer import Trainer, WorkerCrashLoop

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")


def tiny_config(tmp_path: Path, **overrides) -> TrainConfig:
    values = dict(connectome=TINY, task="1-2", workers=1, steps=300, seed=3, out=str(tmp_path / "run"), t_max=10,
                  checkpoint_every=10**9)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    return train(tiny_config(tmp_path_factory.mktemp("a3c"), steps=400))


def test_a_run_writes_its_directory_episode_table_and_tensorboard_events(finished_run: Path):
    stored = yaml.safe_load((finished_run / "connectome.yaml").read_text())
    assert stored["name"] == "tiny"
    entorhinal = stored["regions"]["entorhinal"]["params"]
    assert entorhinal["hidden"] == 32 and entorhinal["head_kappa"] == 20.0, "params complete, defaults written out"
    assert TrainConfig.from_yaml(finished_run / "config.yaml").task == "1-2"
    rows = read_episodes(finished_run)
    assert rows, "a 400-step run of 1-2 finishes at least one episode (failure comes at 180 steps)"
    assert {"task", "worker", "steps", "return", "success"} <= set(rows[0])
    assert all(row["task"] == "1-2" for row in rows)
    assert list((finished_run / "tb").glob("events.out.tfevents.*"))
    payload = load_checkpoint(finished_run)
    assert payload["steps"] >= 400
    assert sum(payload["memory"]["size"]) if "size" in payload["memory"] else True


def test_reverse_replay_filled_the_hippocampal_memory(finished_run: Path):
    trainer = Trainer(TrainConfig.from_yaml(finished_run / "config.yaml"), finished_run,
                      finished_run / "connectome.yaml", resume=True)
    assert sum(trainer.memory.occupancy()) > 0


def test_resume_restores_weights_optimizer_memory_and_counters(finished_run: Path):
    payload = load_checkpoint(finished_run)
    trainer = Trainer(TrainConfig.from_yaml(finished_run / "config.yaml"), finished_run,
                      finished_run / "connectome.yaml", resume=True)
    for name, tensor in trainer.brain.state_dict().items():
        torch.testing.assert_close(tensor, payload["brain"][name], msg=name)
    saved_state = payload["optimizer"]["state"]
    for index, state in enumerate(trainer.optimizer.state_dict()["state"].values()):
        torch.testing.assert_close(state["square_avg"], saved_state[index]["square_avg"])
    assert trainer.memory.occupancy() == load_memory_occupancy(trainer, payload)
    assert trainer.steps() == payload["steps"]
    assert trainer.progress.episodes == payload["episodes"]


def load_memory_occupancy(trainer: Trainer, payload: dict) -> list[int]:
    fresh = trainer.brain.regions["hippocampus"].make_memory()
    fresh.load_state_dict(payload["memory"])
    return fresh.occupancy()


def test_resume_continues_counting_from_the_checkpoint(finished_run: Path, tmp_path: Path):
    before = load_checkpoint(finished_run)
    cfg = TrainConfig.from_yaml(finished_run / "config.yaml")
    cfg.steps = before["steps"] + 100
    train(cfg, resume=True)
    after = load_checkpoint(finished_run)
    assert after["steps"] >= before["steps"] + 100
    assert after["episodes"] >= before["episodes"]
    assert len(read_episodes(finished_run)) == after["episodes"]


def test_a_new_run_refuses_to_overwrite_an_existing_one(finished_run: Path):
    with pytest.raises(Exception, match="already holds a run"):
        prepare_run_dir(TrainConfig.from_yaml(finished_run / "config.yaml"), resume=False)


def test_a_killed_worker_is_replaced_and_the_run_finishes(tmp_path: Path, train_killing_a_worker):
    cfg = tiny_config(tmp_path, workers=2, envs_per_worker=2, steps=1200)
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    trainer = Trainer(cfg, run_dir, run_dir / "connectome.yaml")

    def sigkill_first_worker() -> bool:
        process = trainer.backend.processes[0]
        if process is None or not process.is_alive():
            return False
        os.kill(process.pid, signal.SIGKILL)
        return True

    progress, killed = train_killing_a_worker(trainer, sigkill_first_worker)
    assert killed, "the worker was never seen running"
    assert progress.restarts >= 1
    assert trainer.steps() >= cfg.steps
    assert trainer.generations[0] >= 1


def test_workers_that_die_before_any_step_stop_the_run_with_their_error(tmp_path: Path):
    run_dir, cfg = prepare_run_dir(tiny_config(tmp_path), resume=False)
    cfg.ticks_per_step = 0  # past the checks (prepare_run_dir refuses it): the simulator refuses it in every worker
    trainer = Trainer(cfg, run_dir, run_dir / "connectome.yaml")
    with pytest.raises(WorkerCrashLoop, match="died 3 times in a row(.|\n)*ticks_per_step"):
        trainer.train()
    assert trainer.progress.restarts == 2
    assert (run_dir / "checkpoint.pt").is_file()


def test_a_small_brain_learns_to_reach_the_food_of_1_2_faster(tmp_path: Path):
    """6,000 seeded steps of one classic worker (one environment, 600 updates): from random play (~60 steps) to near
    the 11-step optimum."""
    run_dir = train(tiny_config(tmp_path, steps=6000, seed=2, envs_per_worker=1))
    rows = read_episodes(run_dir)
    quarter = len(rows) // 4
    lengths = [int(row["steps"]) for row in rows]
    returns = [float(row["return"]) for row in rows]
    first, last = slice(0, quarter), slice(len(rows) - quarter, len(rows))
    mean = lambda values, part: sum(values[part]) / quarter  # noqa: E731
    assert mean(lengths, last) < 0.7 * mean(lengths, first), (mean(lengths, first), mean(lengths, last))
    assert mean(lengths, last) < 15, "barely learning: check the optimizer settings (RMSProp eps, lr)"
    assert mean(returns, last) > mean(returns, first) + 0.1
