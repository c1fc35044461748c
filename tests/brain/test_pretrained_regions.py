"""``--init-region REGION=FILE``: a region pre-trained by ``brain.pretrain_paths`` starts a run, once, and bad files are
refused with the fix before anything trains."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from brain import pretrain_paths, run
from brain.engine import Brain
from brain.training.config import TrainConfig
from brain.training.pretrained import InitError, load_pretrained
from brain.training.train import prepare_run_dir
from brain.training.trainer import Trainer

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")
QUICK = ["--batch", "32", "--steps", "20", "--eval-batch", "20", "--bins", "10", "--shuffles", "5",
         "--log-seconds", "1000"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """The tiny brain's entorhinal cortex after 5 updates of path integration in the arena."""
    out = tmp_path_factory.mktemp("paths")
    assert pretrain_paths.main([*QUICK, "--connectome", TINY, "--updates", "5", "--out", str(out)]) == 0
    return out / "entorhinal.pt"


def variant(folder: Path, params: str) -> str:
    """A connectome file: the tiny brain with the entorhinal ``params`` given (YAML flow mapping)."""
    path = folder / "variant.yaml"
    path.write_text(f"extends: {TINY}\nname: variant\nregions:\n  entorhinal: {{params: {params}}}\n")
    return str(path)


def new_trainer(out: Path, **settings) -> Trainer:
    cfg = TrainConfig(connectome=TINY, task="1-8a", workers=1, seed=3, out=str(out), **settings)
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    return Trainer(cfg, run_dir, run_dir / "connectome.yaml")


def test_a_new_run_starts_the_region_from_the_file_and_every_other_region_as_without_it(pretrained, tmp_path):
    start = new_trainer(tmp_path / "init", init_regions={"entorhinal": str(pretrained)})
    plain = new_trainer(tmp_path / "plain")
    saved = torch.load(pretrained)["region"]
    loaded = start.brain.regions["entorhinal"].state_dict()
    assert loaded.keys() == saved.keys() and all(torch.equal(loaded[key], saved[key]) for key in saved)
    assert not torch.equal(loaded["cell.weight_hh"], plain.brain.regions["entorhinal"].state_dict()["cell.weight_hh"])
    for name, region in plain.brain.regions.items():
        if name != "entorhinal":
            for key, value in region.state_dict().items():
                assert torch.equal(start.brain.regions[name].state_dict()[key], value), f"{name}.{key}"
    assert TrainConfig.from_yaml(tmp_path / "init" / "config.yaml").init_regions == {"entorhinal": str(pretrained)}


def test_a_resumed_run_loads_its_checkpoint_not_the_file_again(pretrained, tmp_path):
    file = tmp_path / "entorhinal.pt"
    shutil.copy(pretrained, file)
    trainer = new_trainer(tmp_path / "run", init_regions={"entorhinal": str(file)})
    with torch.no_grad():
        trainer.brain.regions["entorhinal"].cell.weight_hh.add_(1.0)  # as if it had trained
    trainer.checkpoint()
    file.unlink()  # a resumed run does not need it
    run_dir, cfg = prepare_run_dir(TrainConfig.from_yaml(tmp_path / "run" / "config.yaml"), resume=True)
    resumed = Trainer(cfg, run_dir, run_dir / "connectome.yaml", resume=True)
    torch.testing.assert_close(resumed.brain.regions["entorhinal"].cell.weight_hh,
                               torch.load(pretrained)["region"]["cell.weight_hh"] + 1.0)


def test_check_and_config_files_take_it_and_say_what_differs(pretrained, tmp_path, capsys):
    config = tmp_path / "init.yaml"
    config.write_text(f"task: 1-8a\ninit_regions: {{entorhinal: {pretrained}}}\n")
    moved = variant(tmp_path, "{move_scale: 0.5, place_sigma: 0.3}")
    assert run.main(["--config", str(config), "--connectome", moved, "--check"]) == 0
    printed = capsys.readouterr().out
    assert f"--init-region entorhinal: weights from {pretrained} (region entorhinal of {TINY}, 5 updates)" in printed
    assert "move_scale 2 in the file, 0.5 here: the same input reaches the loaded weights x4" in printed
    assert "place_sigma 1.0 in the file, 0.3 here" in printed


def test_a_file_written_before_pretrainings_recorded_the_architecture_loads_from_its_connectome(pretrained, tmp_path):
    payload = torch.load(pretrained)
    del payload["architecture"]
    torch.save(payload, tmp_path / "old.pt")
    brain = Brain.from_connectome(TINY)
    load_pretrained(brain, {"entorhinal": str(tmp_path / "old.pt")})
    assert torch.equal(brain.regions["entorhinal"].cell.weight_ih, payload["region"]["cell.weight_ih"])
    payload["settings"]["connectome"] = str(tmp_path / "gone.yaml")
    torch.save(payload, tmp_path / "orphan.pt")
    with pytest.raises(InitError, match="records no architecture .* pre-train it again"):
        load_pretrained(brain, {"entorhinal": str(tmp_path / "orphan.pt")})


def bad_files(folder: Path, pretrained: Path) -> dict[str, str]:
    """Files that are no pre-trained region, by name."""
    (folder / "garbage.pt").write_text("not a torch file")
    torch.save(torch.load(pretrained)["region"], folder / "bare.pt")  # the weights alone: nothing to check them by
    (folder / "folder.pt").mkdir()
    return {name: str(folder / f"{name}.pt") for name in ("garbage", "bare", "folder", "missing")}


@pytest.mark.parametrize("argv, message", [
    (["--init-region", "thalamus={file}"], "--init-region thalamus={file}: 'thalamus' is no region of connectome tiny"),
    (["--init-region", "entorhinal={file}", "--lesion", "entorhinal=remove"], "'entorhinal' is removed by a lesion"),
    (["--init-region", "entorhinal={missing}"], "{missing}: --init-region entorhinal={missing}: no such file. Fix: "
                                                "give the REGION.pt that python -m brain.pretrain_paths wrote"),
    (["--init-region", "entorhinal={folder}"], "is a directory, not a file"),
    (["--init-region", "entorhinal={garbage}"], "cannot be read as a pre-trained region"),
    (["--init-region", "entorhinal={bare}"], "is not the output of a pre-training"),
    (["--init-region", "ca3={file}"], "holds a region of type entorhinal (region entorhinal of {tiny}, 5 updates), but "
                                      "this run's region is of type ca3"),
    (["--init-region", "entorhinal={file}", "--connectome", "{hidden}"],
     "tensor cell.weight_ih has shape [128, 68] in the file but [64, 68] in this run's region. Fix: build the region "
     "as the pre-training did (likely cause: hidden 32 in the file, 16 here)"),
    (["--init-region", "entorhinal={file}", "--lesion", "visual_cortex.features->entorhinal.visual=remove"],
     "the tensors do not match this run's region (not in this region: visual.0.weight, visual.0.bias). Fix: build "
     "the region as the pre-training did (likely cause: input visual [32] in the file, not connected here)"),
    (["--init-region", "entorhinal={file}", "--connectome", "{relu}"],
     "grid_activation is 'linear' in the file's region (region entorhinal of {tiny}, 5 updates) but 'relu' here"),
    (["--init-region", "entorhinal"], "argument --init-region: bad pre-trained region 'entorhinal': expected "
                                      "REGION=FILE"),
])
def test_a_bad_init_is_one_message_and_exit_code_2_before_the_run_directory_exists(argv, message, pretrained,
                                                                                   tmp_path, capsys):
    names = {"file": str(pretrained), "tiny": TINY, "hidden": variant(tmp_path, "{hidden: 16}"),
             **bad_files(tmp_path, pretrained)}
    (tmp_path / "relu").mkdir()
    names["relu"] = variant(tmp_path / "relu", "{grid_activation: relu}")
    out = tmp_path / "run"
    assert exit_code(["--connectome", TINY, "--task", "1-8a", "--out", str(out),
                      *[item.format(**names) for item in argv]]) == 2
    err = capsys.readouterr().err
    assert message.format(**names) in err and "Traceback" not in err, err
    assert not out.exists()


def exit_code(argv: list[str]) -> int:
    """``python -m brain.run``'s exit code: returned, or raised by argparse for a bad flag."""
    try:
        return run.main(argv)
    except SystemExit as exited:
        return exited.code
