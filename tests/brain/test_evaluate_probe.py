"""``python -m brain.evaluate RUN --task watermaze --probe``: water-maze probe trials of a trained brain."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain import evaluate
from brain.training.config import TrainConfig
from brain.training.train import prepare_run_dir
from brain.training.trainer import Trainer

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")


@pytest.fixture(scope="module")
def water_maze_run(tmp_path_factory) -> Path:
    """The untrained tiny brain's run in the water maze, 2 s a step: a 60 s trial is 30 steps."""
    cfg = TrainConfig(connectome=TINY, task="watermaze", workers=1, ticks_per_step=100,
                      out=str(tmp_path_factory.mktemp("probe") / "run"))
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    Trainer(cfg, run_dir, run_dir / "connectome.yaml").checkpoint()
    return run_dir


def test_probe_trials_swim_the_full_minute_and_are_measured(water_maze_run, capsys, one_thread):
    results = evaluate.evaluate(water_maze_run, "watermaze", episodes=3, greedy=False, seed=5, envs_at_once=2,
                                probe=True)
    assert [(r.steps, r.success) for r in results] == [(30, False)] * 3
    assert all(sum(r.probe.shares) == pytest.approx(1.0) and len(r.probe.crossings) == 4 for r in results)
    trials = evaluate.evaluate(water_maze_run, "watermaze", episodes=1, greedy=False, seed=5)
    assert all(r.probe is None for r in trials)  # an ordinary trial is not a probe
    assert evaluate.main([str(water_maze_run), "--probe", "--episodes", "2", "--lesion", "ca3=silence"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("task watermaze probe (lesions: ca3=silence), sampled policy: time in the platform's "
                              "quadrant") and "against chance 25%" in printed
    assert "2 probe trials" in printed


def test_probe_on_a_task_without_a_platform_exits_2_and_plays_nothing(water_maze_run, capsys):
    assert evaluate.main([str(water_maze_run), "--task", "1-2", "--probe"]) == 2
    error = capsys.readouterr().err
    assert "--probe: task '1-2' has no hidden platform to remove" in error and "--task watermaze" in error
    assert "Traceback" not in error
