"""``python -m brain.evaluate RUN --lesion REGION=MODE``: a trained brain evaluated with regions silenced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from brain import evaluate
from brain.training.config import TrainConfig
from brain.recording import open_run
from brain.training.train import prepare_run_dir
from brain.training.trainer import Trainer

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")


def untrained_run(out: Path, lesions: dict[str, str] | None = None) -> Path:
    """A run directory of the tiny brain with a checkpoint of its initial weights (enough to evaluate)."""
    cfg = TrainConfig(connectome=TINY, task="1-2", workers=1, out=str(out), lesions=lesions or {},
                      record_regions=["ca3", "entorhinal"])
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    Trainer(cfg, run_dir, run_dir / "connectome.yaml").checkpoint()
    return run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return untrained_run(tmp_path_factory.mktemp("lesions") / "run")


def test_a_lesion_silences_the_regions_output_in_the_recording_and_the_recording_says_so(run_dir, capsys):
    argv = [str(run_dir), "--episodes", "1", "--seed", "3", "--record"]
    assert evaluate.main([*argv, "--lesion", "ca3=silence", "--lesion", "entorhinal=0.5"]) == 0
    printed = capsys.readouterr().out
    path = run_dir / "eval-1-2-ca3-silence-entorhinal-0.5.h5"
    assert "task 1-2 (lesions: ca3=silence, entorhinal=0.5): success" in printed and str(path) in printed
    assert evaluate.main(argv) == 0  # the intact brain, the control
    with open_run(path) as lesioned, open_run(run_dir / "eval-1-2.h5") as intact:
        assert lesioned.sessions[0]["lesions"] == {"ca3": "silence", "entorhinal": 0.5}
        assert yaml.safe_load(lesioned.connectome)["lesions"] == {"ca3": "silence", "entorhinal": 0.5}
        assert intact.sessions[0]["lesions"] == {} and "lesions" not in yaml.safe_load(intact.connectome)
        silenced, control = lesioned.episode(0).activity("ca3", "state"), intact.episode(0).activity("ca3", "state")
        assert silenced.shape[1] == 32 and not silenced.any() and control.any()
        grid = lesioned.episode(0).activity("entorhinal", "grid")
        silent_units = ~grid.any(axis=0)
        assert silent_units.sum() == 16 and grid[:, ~silent_units].any(axis=0).all()  # the same half at every step


@pytest.mark.parametrize("lesion, message", [
    ("cortex=silence", "lesion of an unknown region 'cortex'"),
    ("ca3=melt", "bad lesion mode 'melt'"),
    ("ca3=1.5", "bad lesion mode '1.5'"),
    ("ca3=remove", "--lesion ca3=remove: removing changes the shapes of the trained weights"),
    ("ca3.state -> ca3.previous=remove", "silence its source region"),
])
def test_a_bad_lesion_exits_2_with_one_line_and_plays_nothing(run_dir, lesion, message, capsys):
    before = set(run_dir.iterdir())
    assert evaluate.main([str(run_dir), "--episodes", "1", "--record", "--lesion", lesion]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "success" not in captured.out and set(run_dir.iterdir()) == before


def test_a_removal_names_the_fix(run_dir, capsys):
    assert evaluate.main([str(run_dir), "--lesion", "ca3=remove"]) == 2
    assert "silence it (--lesion ca3=silence" in capsys.readouterr().err


def test_a_region_removed_in_training_cannot_be_lesioned_again(tmp_path, capsys):
    removed = untrained_run(tmp_path / "run", lesions={"hippocampus": "remove"})
    assert evaluate.main([str(removed), "--episodes", "1", "--lesion", "hippocampus=silence"]) == 2
    assert "hippocampus was removed in training" in capsys.readouterr().err
