"""``python -m brain.run`` and ``python -m brain.evaluate`` as a user meets them: flags, errors, a short run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from brain import evaluate, run
from brain.training.config import TrainConfig

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv, message", [
    (["--task", "9-9"], "unknown task '9-9'; valid tasks: 1-1, 1-2"),
    (["--workers", "0"], "--workers: must be at least 1"),
    (["--steps", "many"], "--steps: expected an integer"),
    (["--gamma", "1.5"], "--gamma: must be in [0, 1]"),
    (["--task", "1-2", "--curriculum"], "not allowed with argument"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--backend", "spark"], "--backend: invalid choice: 'spark'"),
    (["--address", "auto"], "--address auto needs --backend ray"),
    (["--env", "unity"], "--unity-build: --env unity needs the Unity build"),
    (["--env", "unity", "--unity-build", "no/such/build.x86_64"], "--unity-build: no/such/build.x86_64 is not a file"),
    (["--env", "unity", "--unity-build", str(ROOT / "README.md")], "README.md is not executable: chmod +x"),
    (["--unity-build", sys.executable], "--unity-build: only used with --env unity"),
    (["--env", "unity", "--unity-build", sys.executable, "--unity-base-port", "65535", "--workers", "2"],
     "--unity-base-port: 2 workers x 1 environments need ports 65535 to 65536"),
    (["--env", "unity", "--unity-build", sys.executable, "--unity-base-port", "65500", "--workers", "2",
      "--envs-per-worker", "20"], "2 workers x 20 environments need ports 65500 to 65539, beyond 65535; choose a "
                                  "lower port or fewer --envs-per-worker"),
    (["--envs-per-worker", "0"], "--envs-per-worker: must be at least 1"),
    (["--envs-per-worker", "-3"], "--envs-per-worker: must be at least 1"),
    (["--device", "tpu"], "--device: 'tpu' is not a device: choose cpu or cuda"),
    (["--env", "unity", "--unity-build", sys.executable, "--unity-timeout", "0"], "--unity-timeout: must be at least 1"),
    (["--env", "unity", "--unity-build", sys.executable, "--unity-time-scale", "0"],
     "--unity-time-scale: must be greater than 0, got 0"),
    (["--env", "unreal"], "--env: invalid choice: 'unreal'"),
])
def test_bad_flags_exit_with_code_2_and_name_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused_with_the_fix(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--device", "cuda", "--check"])
    assert exit_info.value.code == 2
    assert "--device: cuda: CUDA is not available here" in capsys.readouterr().err


def test_resume_without_a_run_is_refused_before_anything_is_written(tmp_path: Path, capsys):
    out = tmp_path / "nothing"
    assert run.main(["--connectome", TINY, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "holds no run to resume" in err and "drop --resume" in err and "Traceback" not in err
    assert not out.exists()


def test_an_unknown_lesion_is_refused_before_the_run_directory_exists(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run.main(["--connectome", TINY, "--lesion", "cortex=remove", "--out", str(out)]) == 2
    assert "lesion of an unknown region 'cortex'" in capsys.readouterr().err
    assert not out.exists()


def test_flags_reach_the_stored_config():
    args = run.build_parser().parse_args(["--task", "1-3", "--workers", "3", "--steps", "500", "--seed", "7",
                                          "--gae-lambda", "0.95", "--until-success", "0.8", "--backend", "ray",
                                          "--address", "auto", "--envs-per-worker", "4", "--lesion", "ca3=silence"])
    cfg = run.config_from_args(args)
    assert (cfg.envs_per_worker, cfg.device) == (4, "cpu")
    assert (cfg.task, cfg.workers, cfg.steps, cfg.seed, cfg.gae_lambda, cfg.until_success) == \
        ("1-3", 3, 500, 7, 0.95, 0.8)
    assert (cfg.backend, cfg.address) == ("ray", "auto")
    assert cfg.lesions == {"ca3": "silence"} and cfg.out == str(Path("runs") / "wba-1-3")


def test_a_short_run_from_the_command_line_then_evaluate_it(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run.main(["--connectome", TINY, "--task", "1-2", "--workers", "1", "--steps", "200", "--seed", "1",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"run directory: {out}" in printed and "python -m brain.evaluate" in printed
    assert TrainConfig.from_yaml(out / "config.yaml").steps == 200
    assert run.main(["--connectome", TINY, "--out", str(out)]) == 2  # a second run may not overwrite it
    assert "already holds a run" in capsys.readouterr().err
    assert evaluate.main([str(out), "--episodes", "2", "--greedy"]) == 0
    assert "task 1-2: success" in capsys.readouterr().out


def test_evaluate_names_a_directory_that_is_not_a_run(tmp_path: Path, capsys):
    assert evaluate.main([str(tmp_path)]) == 2
    assert "no config.yaml here" in capsys.readouterr().err


def test_the_tensorboard_hint_says_what_to_install_when_it_is_missing(tmp_path, monkeypatch):
    from brain.training import train
    from brain.training.trainer import Progress

    hint = lambda: next(line for line in train.summary(tmp_path, TrainConfig(), Progress(), 1.0).splitlines()
                        if "tensorboard --logdir" in line)
    monkeypatch.setattr(train.shutil, "which", lambda name: None)
    assert hint().endswith('not installed here: pip install "tensorboard>=2.12")')
    monkeypatch.setattr(train.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert hint().endswith("memory occupancy)") and f"--logdir {tmp_path / 'tb'}" in hint()
