"""The benchmarks' own logic: env_fps runs (tiny sizes: a smoke test, not a measurement); the learning table's
criterion and its summary over seeds."""

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


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
