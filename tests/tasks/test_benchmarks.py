"""The benchmarks' own logic: env_fps runs (tiny sizes: a smoke test, not a measurement); the learning table's
criterion and its summary over seeds; a lesion benchmark of a tiny run in the water maze, probe trials too;
the grid-cell table over seeds."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TINY = str(Path(__file__).resolve().parents[1] / "brain" / "data" / "tiny.yaml")


def load_benchmark(name: str = "env_fps"):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_env_fps_measures_every_maze():
    bench = load_benchmark()
    assert [task for _, task in bench.MAZES] == ["1-3", "1-8a", "2-1", "3-1"]  # 1-D, colourless, Arrow, Cross
    assert bench.single_rate("2-1", 20, rgb_size=16, depth_size=8) > 0
    assert bench.vector_rate("1-3", 8, n=2, rgb_size=16, depth_size=8) > 0


def test_learning_finds_the_first_window_of_100_episodes_at_80_percent():
    bench = load_benchmark("learning")
    rows = [{"success": str(index >= 30)} for index in range(200)]  # 30 failures, then successes only
    assert bench.reached_criterion(rows) == (109, 1.0)  # episodes 10 ... 109: 20 failures, 80 successes
    assert bench.reached_criterion(rows[:109]) == (None, 0.79)


def test_learning_summarises_seeds_by_median_and_range_with_unreached_runs_beyond_all():
    bench = load_benchmark("learning")
    assert bench.spread([2.0, 1.5, None], ".1f") == "2.0 [1.5, -]"
    assert bench.spread([None, None, 3.0], ".1f") == "- [3.0, -]"
    assert bench.spread([100, 201], "d") == "150 [100, 201]"
    assert bench.spread([None], "d") == "-"


def test_learning_reads_back_a_finished_run_unless_a_longer_budget_could_change_it(tmp_path, monkeypatch):
    bench = load_benchmark("learning")
    trained = []

    def train_one(connectome, task, workers, envs, seed, minutes, out, init_regions):  # a run that never reaches 80 %
        trained.append(task)
        out.mkdir()
        return bench.Result(task, envs, seed, None, None, 0.5, 9.0)

    monkeypatch.setattr(bench, "train_one", train_one)
    unreached = tmp_path / "1-7"
    assert bench.run_one("wba", "1-7", 2, 16, 0, 20.0, unreached, {}).final == 0.5 and len(trained) == 1
    assert bench.run_one("wba", "1-7", 2, 16, 0, 20.0, unreached, {}).final == 0.5 and len(trained) == 1  # read back
    (unreached / "checkpoint.pt").write_text("a stopped run's")
    assert bench.run_one("wba", "1-7", 2, 16, 0, 60.0, unreached, {}) and len(trained) == 2  # the budget could change it
    assert not (unreached / "checkpoint.pt").exists()  # trained anew, not resumed
    reached = tmp_path / "1-1"
    reached.mkdir()
    (reached / "result.json").write_text('{"task": "1-1", "envs": 16, "seed": 0, "minutes": 0.2, "steps": 352, '
                                         '"final": 1.0, "rate": 50.0, "budget_minutes": 20.0}')  # before init_regions
    assert bench.run_one("wba", "1-1", 2, 16, 0, 60.0, reached, {}).steps == 352 and len(trained) == 2


def test_learning_names_the_pre_trained_regions_and_keeps_conditions_apart(tmp_path, monkeypatch):
    bench = load_benchmark("learning")
    def train_one(connectome, task, workers, envs, seed, minutes, out, init_regions):
        out.mkdir()
        return bench.Result(task, envs, seed, 1.0, 900, 0.9, 9.0)

    monkeypatch.setattr(bench, "train_one", train_one)
    init = {"entorhinal": "runs/paths/entorhinal.pt"}
    out = tmp_path / "1-8a"
    result = bench.run_one("wba_arena_maze", "1-8a", 2, 16, 0, 60.0, out, init)
    assert bench.other_brain(out, "wba_arena_maze", init) is None
    assert bench.other_brain(out, "wba_arena_maze", {}) == \
        f"{out} was trained with init_regions {{'entorhinal': 'runs/paths/entorhinal.pt'}}"
    brain = bench.brain_of("wba_arena_maze", init)
    assert bench.table(16, [result], 2, brain).splitlines()[0] == \
        "--envs-per-worker 16, 2 workers, wba_arena_maze, entorhinal from runs/paths/entorhinal.pt"
    assert bench.brain_of("wba", {}) == "wba, no pre-trained region"


def test_lesion_benchmark_evaluates_a_tiny_run_under_every_single_region_silence(tmp_path, capsys, one_thread):
    """Water-maze trials and probe trials of 2 s steps (30 a trial), amygdala lesioned in training."""
    import json

    from analysis.lesions import read_study
    from brain.training.config import TrainConfig
    from brain.training.train import prepare_run_dir
    from brain.training.trainer import Trainer

    cfg = TrainConfig(connectome=TINY, task="watermaze", workers=1, ticks_per_step=100, out=str(tmp_path / "run"),
                      lesions={"amygdala": "silence"})
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    Trainer(cfg, run_dir, run_dir / "connectome.yaml").checkpoint()  # its initial weights: enough to evaluate
    bench = load_benchmark("lesions")
    assert bench.main([str(run_dir), "--episodes", "1", "--probe"]) == 0
    written = (run_dir / "lesions.txt").read_text()
    assert written.startswith(f"python benchmarks/lesions.py {run_dir} --episodes 1 --probe")
    assert "lesioned in training, not lesioned again: amygdala=silence" in written
    assert "no connection path to the policy: basal_ganglia; silencing them cannot change an action" in written
    regions = ["visual_cortex", "entorhinal", "ca3", "ca1", "hippocampus", "prefrontal", "basal_ganglia"]
    trials, probes = written.split("task watermaze: 1 run(s)")[1].split("task watermaze probe trials")
    assert [line.split()[0] for line in trials.strip().splitlines()[1:]] == ["intact", *regions]
    assert [line.split()[0] for line in probes.strip().splitlines()[2:]] == ["intact", *regions]
    study = read_study(run_dir / "lesions.json")
    assert study.command == written.splitlines()[0] and study.settings["probe"] and study.settings["episodes"] == 1
    assert study.runs[0].connectome == "tiny" and study.runs[0].lesioned_in_training == {"amygdala": "silence"}
    assert [(o.condition, o.episodes) for o in study.outcomes] == [(c, 1) for c in ["intact", *regions]]
    assert all(len(p.shares) == 1 and sum(p.shares[0]) == pytest.approx(1.0) for p in study.probes)
    assert json.loads((run_dir / "lesions.json").read_text())["runs"][0]["run"] == str(run_dir)
    assert f"written to {run_dir / 'lesions.txt'} and {run_dir / 'lesions.json'}" in capsys.readouterr().out
    assert bench.main([str(tmp_path / "nothing")]) == 2 and "no connectome.yaml here" in capsys.readouterr().err
    assert bench.main([str(run_dir), "--tasks", "1-2", "--probe"]) == 2
    assert "--probe: no task of 1-2 has a platform to remove; add watermaze to --tasks" in capsys.readouterr().err


def test_grid_cells_tables_each_seed_against_its_untrained_control(tmp_path):
    bench = load_benchmark("grid_cells")
    quick = ["--", "--updates", "2", "--batch", "8", "--steps", "10", "--eval-batch", "60", "--bins", "8",
             "--shuffles", "3"]
    assert bench.main(["--seeds", "3,4", "--connectome", "wba_arena", "--out", str(tmp_path), *quick]) == 0
    text = (tmp_path / "results.txt").read_text()
    assert text.startswith("python benchmarks/grid_cells.py --seeds 3,4") and "\nwba_arena, 60 minutes" in text
    for seed in (3, 4):
        report = json.loads((tmp_path / f"seed{seed}" / "cells.json").read_text())
        assert report["settings"]["seed"] == seed and report["updates"] == 2
        [line] = [line for line in text.splitlines() if line.startswith(f"seed {seed} ")]
        cells = line.split()[2:]  # updates, minutes, place loss, untrained place loss, grid % (pooled), untrained %
        assert cells[0] == "2" and cells[4] == f"{100 * report['trained']['share_pooled']:.1f}"
        assert cells[5] == f"{100 * report['untrained']['share_pooled']:.1f}"
    assert "median [min, max] of 2" in text


def test_grid_cells_says_which_seed_failed_and_where_its_log_is(tmp_path):
    bench = load_benchmark("grid_cells")
    assert bench.main(["--seeds", "0", "--out", str(tmp_path), "--", "--steps", "5"]) == 1
    text = (tmp_path / "results.txt").read_text()
    assert "seed 0: exit code 2 (error: --steps must be at least 10" in text
    assert f"; its log: {tmp_path / 'seed0' / 'log.txt'}" in text


@pytest.mark.parametrize("argv, message", [(["--seeds", "1,x"], "expected comma-separated integers"),
                                           (["--seeds", "1,1"], "each seed once")])
def test_grid_cells_refuses_bad_seeds_before_training(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        load_benchmark("grid_cells").main([*argv, "--out", str(tmp_path)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err and not any(tmp_path.iterdir())
