"""The run's curriculum: the 2017 completion rule over the run's pooled trials, the switch of each environment."""

from __future__ import annotations

import csv
import queue
import runpy
import threading
from pathlib import Path

import numpy as np
import pytest
from tensorboardX import SummaryWriter
import torch.multiprocessing as mp

from brain.engine import Brain
from brain.events import EpisodeEnded
from brain.training import a3c
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.curriculum import COMPLETIONS_FILE, ORDER, RunCurriculum
from brain.training.optim import SharedRMSprop
from brain.training.rundir import EpisodeTable
from brain.training.trainer import Trainer
from brain.training.train import prepare_run_dir, train

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")


def completion_trial(outcomes: list[bool]) -> int | None:
    """Brute force of the 2017 rule: the first success whose preceding (at most 100) trials have S - F > 21."""
    for trial, success in enumerate(outcomes):
        window = outcomes[max(0, trial - 100):trial]
        if success and 2 * sum(window) - len(window) > 21:
            return trial
    return None


def test_the_run_completes_a_task_at_the_trial_the_2017_rule_names():
    outcomes = list(np.random.default_rng(3).random(400) < np.linspace(0.3, 0.9, 400))
    expected = completion_trial(outcomes)
    assert expected is not None and expected > 100  # the 100-trial window matters here
    curriculum = RunCurriculum()
    completions = [curriculum.add("1-1", success, steps=10 * trial) for trial, success in enumerate(outcomes)]
    done = [trial for trial, completion in enumerate(completions) if completion is not None]
    assert done == [expected]
    assert (completions[expected].episodes, completions[expected].steps) == (expected + 1, 10 * expected)
    assert curriculum.task == "1-2" and curriculum.episodes == 0  # the 1-1 trials after it count for nothing


def test_episodes_of_a_task_left_behind_do_not_count_for_the_next():
    curriculum = RunCurriculum(position=1)
    assert all(curriculum.add("1-1", True, steps=1) is None for _ in range(50))
    assert (curriculum.task, curriculum.episodes, curriculum.record.trials) == ("1-2", 0, 0)


def test_a_resumed_curriculum_completes_where_the_uninterrupted_one_does():
    outcomes = list(np.random.default_rng(4).random(300) < 0.75)
    whole, first = RunCurriculum(), RunCurriculum()
    for trial, success in enumerate(outcomes[:20]):
        whole.add("1-1", success, trial), first.add("1-1", success, trial)
    resumed = RunCurriculum.from_state(first.state())
    later = [(whole.add("1-1", s, t), resumed.add("1-1", s, t)) for t, s in enumerate(outcomes[20:], 20)]
    assert [a for a, _ in later if a] and [(a.task, a.episodes, a.steps) for a, _ in later if a] == \
        [(b.task, b.episodes, b.steps) for _, b in later if b]


def curriculum_worker(tmp_path: Path, **settings) -> tuple[a3c.Worker, Counters, queue.Queue]:
    """A set-up worker of a curriculum run of the tiny brain (3 environments), its counters and event queue."""
    cfg = TrainConfig(connectome=TINY, curriculum=True, workers=1, steps=10**6, seed=1, out=str(tmp_path),
                      t_max=5, envs_per_worker=3, **settings)
    shared = Brain.from_connectome(TINY)
    counters, events = Counters(mp.get_context("spawn")), queue.Queue()
    worker = a3c.Worker(0, 0, cfg, TINY, a3c.SharedParameters(shared, SharedRMSprop(shared.parameters())),
                        shared.regions["hippocampus"].make_memory(), counters, events, threading.Event())
    worker._setup()
    return worker, counters, events


def test_an_environment_takes_the_run_s_new_task_when_its_episode_ends(tmp_path: Path):
    worker, counters, events = curriculum_worker(tmp_path)
    assert [info["task"] for info in worker.envs.infos] == [ORDER[0]] * 3
    counters.set_curriculum_position(1)
    worker._end_episode(1)
    assert [info["task"] for info in worker.envs.infos] == [ORDER[0], ORDER[1], ORDER[0]]
    assert worker.envs.starts[1] and events.get_nowait().task == ORDER[0]  # the ended episode was the old task's
    worker.rollout()  # acting and learning go on over environments of two tasks
    ended = [event for event in iter(lambda: None if events.empty() else events.get_nowait(), None)
             if isinstance(event, EpisodeEnded)]
    assert all(event.task == ORDER[1] for event in ended if event.env == 1)
    worker.envs.close()


@pytest.mark.parametrize("rehearsal", [0.0, 0.3])
def test_rehearsal_replays_completed_tasks_in_its_share_of_episodes_and_never_a_later_one(tmp_path: Path,
                                                                                         rehearsal: float):
    worker, counters, _ = curriculum_worker(tmp_path, rehearsal=rehearsal)
    counters.set_curriculum_position(3)
    played = []
    for _ in range(300):
        worker._end_episode(0)
        played.append(worker.envs.infos[0]["task"])
    rehearsed = [task for task in played if task != ORDER[3]]
    assert set(rehearsed) <= set(ORDER[:3])
    assert abs(len(rehearsed) / len(played) - rehearsal) < 0.08  # binomial sd 0.026 at 300 episodes
    if rehearsal:
        assert set(rehearsed) == set(ORDER[:3])  # every completed task comes back
    worker.envs.close()


def test_a_rehearsed_episode_does_not_become_the_task_the_run_trains_and_stops_on(tmp_path: Path):
    cfg = TrainConfig(connectome=TINY, curriculum=True, rehearsal=0.5, workers=1, out=str(tmp_path / "run"))
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    trainer = Trainer(cfg, run_dir, run_dir / "connectome.yaml")
    trainer.curriculum.position = 3
    table = EpisodeTable(run_dir / "episodes.csv")
    with SummaryWriter(str(tmp_path / "tb")) as writer:
        for task, success in ((ORDER[3], False), (ORDER[0], True), (ORDER[0], True)):
            trainer._record_episode(EpisodeEnded(0, 0, task, 10, 1.0, success, 100), 10, writer, table)
    table.close()
    status = trainer._status(10)
    assert (status.task, status.success, status.over) == (ORDER[3], 0.0, 1)  # the two rehearsals of 1-1 aside


def test_rehearsal_without_a_curriculum_is_refused(capsys):
    from brain.run import main

    with pytest.raises(SystemExit) as exit:
        main(["--task", "1-3", "--rehearsal", "0.2", "--steps", "10"])
    assert exit.value.code == 2 and "--rehearsal" in capsys.readouterr().err


@pytest.fixture(scope="module")
def curriculum_run(tmp_path_factory) -> Path:
    """The tiny brain completes 1-1 and 1-2 (food in reach, or straight ahead) in about a thousand steps."""
    return train(TrainConfig(connectome=TINY, curriculum=True, workers=1, envs_per_worker=4, steps=2_000, seed=0,
                             out=str(tmp_path_factory.mktemp("curriculum") / "run"), record_every=0,
                             checkpoint_every=10**9))


def test_a_curriculum_run_moves_every_environment_on_and_logs_the_completion(curriculum_run: Path):
    with open(curriculum_run / COMPLETIONS_FILE) as table:
        completions = list(csv.DictReader(table))
    assert completions[0]["task"] == "1-1" and int(completions[0]["episodes"]) >= 23
    with open(curriculum_run / "episodes.csv") as table:
        rows = list(csv.DictReader(table))
    after = [row["task"] for row in rows if int(row["global_step"]) > int(completions[0]["steps"]) + 400]
    assert after and set(after) <= {"1-2", "1-3"}


def test_the_curriculum_benchmark_evaluates_the_final_brain_on_each_completed_task(curriculum_run: Path, capsys):
    bench = runpy.run_path(str(Path(__file__).parents[2] / "benchmarks" / "curriculum.py"))
    assert bench["main"](["--evaluate", str(curriculum_run), "--episodes", "4", "--envs", "4"]) == 0
    lines = (curriculum_run / "curriculum-results.txt").read_text().splitlines()
    completed = bench["completions"](curriculum_run)
    rows = [line.split() for line in lines if line.split() and line.split()[0] in {c.task for c in completed}]
    assert [row[0] for row in rows] == [c.task for c in completed]
    assert all(row[5].startswith(tuple(f"{wins}/4" for wins in range(5))) for row in rows)
    assert bench["main"](["--evaluate", str(curriculum_run.parent / "nothing")]) == 2
    assert "no config.yaml" in capsys.readouterr().err
