"""The env_fps benchmark runs (tiny sizes: a smoke test, not a measurement)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "env_fps.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("env_fps", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_env_fps_measures_every_maze():
    bench = load_benchmark()
    assert [task for _, task in bench.MAZES] == ["1-3", "1-8a", "2-1", "3-1"]  # 1-D, colourless, Arrow, Cross
    assert bench.single_rate("2-1", 20, rgb_size=16, depth_size=8) > 0
    assert bench.vector_rate("1-3", 8, n=2, rgb_size=16, depth_size=8) > 0
