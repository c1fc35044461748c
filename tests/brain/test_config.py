"""One source for the training settings: every field has a flag and help, and config.yaml is checked like a connectome."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from brain import run
from brain.errors import ConfigError
from brain.training.config import APPLIED_ON_RESUME, RETIRED_KEYS, SETTINGS, TrainConfig, flag_name

#: A value other than the default for every setting, as it is written on the command line.
FLAG_VALUES = {
    "connectome": "wba_no_memory", "lesions": "ca3=silence", "init_regions": "entorhinal=runs/paths/entorhinal.pt",
    "task": "1-4", "curriculum": None, "rehearsal": "0.25", "workers": "3",
    "envs_per_worker": "4", "device": "cpu", "backend": "ray", "address": "auto", "steps": "500", "seed": "7",
    "out": "runs/x", "until_success": "0.8", "max_minutes": "2.5", "checkpoint_every": "999", "record_every": "0",
    "record_regions": "ca1,ca3", "record_float16": None, "record_compression": "lzf", "record_flush_seconds": "3",
    "env": "embedded", "unity_build": None, "unity_base_port": "6000", "unity_timeout": "9", "unity_time_scale": "20",
    "unity_no_graphics": None, "ticks_per_step": "5", "t_max": "7", "gamma": "0.9", "gae_lambda": "0.95",
    "lr": "0.001", "rms_alpha": "0.9", "rms_eps": "0.001", "entropy_coef": "0.02", "value_coef": "0.25",
    "max_grad_norm": "1.5",
}


def test_every_setting_has_a_flag_with_its_help():
    assert set(FLAG_VALUES) == set(SETTINGS)
    text = run.build_parser().format_help()
    for name, spec in SETTINGS.items():
        assert flag_name(name) in text, name
        assert spec.help.split()[0] in text, name


def test_every_flag_reaches_the_config_and_survives_its_yaml(tmp_path: Path):
    argv = []
    for name, value in FLAG_VALUES.items():
        if name != "unity_build":
            argv += [flag_name(name)] + ([] if value is None else [value])
    argv.remove("--task"), argv.remove("1-4")  # --curriculum replaces it
    cfg = run.config_from_args(run.build_parser().parse_args(argv))
    defaults = TrainConfig()
    changed = {name for name in SETTINGS if getattr(cfg, name) != getattr(defaults, name)}
    assert changed == set(SETTINGS) - {"task", "device", "env", "unity_build"}
    assert cfg.lesions == {"ca3": "silence"} and cfg.record_regions == ["ca1", "ca3"] and cfg.gamma == 0.9
    assert cfg.init_regions == {"entorhinal": "runs/paths/entorhinal.pt"}
    cfg.to_yaml(tmp_path / "config.yaml")
    assert TrainConfig.from_yaml(tmp_path / "config.yaml") == cfg


def test_defaults_the_config_works_out():
    assert TrainConfig().out == str(Path("runs") / "wba-1-3")
    assert TrainConfig(connectome="connectome/wba_no_memory.yaml", curriculum=True).out == \
        str(Path("runs") / "wba_no_memory-curriculum")
    assert (TrainConfig().envs_per_worker, TrainConfig(env="unity").envs_per_worker) == (16, 1)


def test_resume_applies_the_settings_marked_so():
    assert {"steps", "workers", "envs_per_worker", "device", "out", "max_minutes"} <= set(APPLIED_ON_RESUME)
    assert not {"lr", "gamma", "t_max", "task", "connectome", "lesions", "init_regions", "seed"} & set(APPLIED_ON_RESUME)


@pytest.mark.parametrize("text, line, expected", [
    ("task: 1-2\ngamma: '0.9'\n", 2, ["gamma: expected a number, got '0.9' (text)", "without quotes: `gamma: 0.9`"]),
    ("t_max: 0\n", 1, ["t_max: must be at least 1, got 0", "the default `t_max: 20`"]),
    ("t_max: 2.5\n", 1, ["t_max: expected a whole number, got 2.5 (float)"]),
    ("seed: 1\ngama: 0.9\n", 2, ["unknown setting 'gama'; did you mean 'gamma'?", "remove it, or use one of"]),
    ("backend: slurm\n", 1, ["backend: 'slurm' is not one of local, ray"]),
    ("task: 9-9\n", 1, ["task: unknown task '9-9'; valid tasks: 1-1"]),
    ("record_regions: ca1\n", 1, ["record_regions: expected a list of names, got 'ca1' (text)"]),
    ("lesions: {ca3: [1]}\n", 1, ["lesions: expected a mapping of names to values"]),
    ("curriculum: yes please\n", 1, ["curriculum: expected true or false, got 'yes please' (text)"]),
    ("device: gpu\n", 1, ["device: 'gpu' is not a device: choose cpu or cuda"]),
    ("workers: null\n", 1, ["workers: expected a whole number, got None"]),
])
def test_a_bad_config_yaml_is_reported_at_its_line(tmp_path: Path, text: str, line: int, expected: list[str]):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_yaml(path)
    assert error.value.line == line and str(error.value).startswith(f"{path}:{line}: ")
    for part in expected:
        assert part in str(error.value)


def test_a_stored_config_may_hold_retired_keys_and_an_unset_batch(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("".join(f"{key}: 1\n" for key in RETIRED_KEYS) + "envs_per_worker: null\nlr: 1\nunity_build: /gone\n")
    cfg = TrainConfig.from_yaml(path)
    assert cfg == dataclasses.replace(TrainConfig(), lr=1.0, unity_build="/gone")
    assert isinstance(cfg.lr, float)


def test_task_and_curriculum_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        run.main(["--task", "1-2", "--curriculum", "--check"])
    assert exit_.value.code == 2 and "--curriculum: not allowed with argument --task" in capsys.readouterr().err


@pytest.fixture
def checked(monkeypatch) -> list[TrainConfig]:
    """The configs ``run.main(... --check)`` would check, captured instead of checked."""
    seen: list[TrainConfig] = []
    monkeypatch.setattr(run, "check", lambda cfg, limits: seen.append(cfg) or 0)
    return seen


def test_a_config_file_sets_what_the_command_line_does_not(tmp_path: Path, checked: list[TrainConfig]):
    path = tmp_path / "cue.yaml"
    path.write_text("task: 1-7\nt_max: 40\nworkers: 1\nlesions: {ca3: silence}\ncurriculum: true\n")
    assert run.main(["--config", str(path), "--t-max", "30", "--task", "1-8d", "--check"]) == 0
    cfg = checked[0]
    assert (cfg.task, cfg.curriculum, cfg.t_max, cfg.workers, cfg.lesions) == ("1-8d", False, 30, 1, {"ca3": "silence"})
    assert cfg.out == str(Path("runs") / "wba-1-8d")


@pytest.mark.parametrize("text, expected", [
    ("taks: 1-7\n", ":1: taks: unknown setting 'taks'; did you mean 'task'?"),
    ("t_max: 40\ntask: 1-9\n", ":2: task: unknown task '1-9'; valid tasks: 1-1"),
    (None, "cannot read the file"),
])
def test_a_bad_config_file_is_refused_naming_the_file_and_key(tmp_path: Path, capsys, checked, text, expected):
    path = tmp_path / "cue.yaml"
    if text is not None:
        path.write_text(text)
    assert run.main(["--config", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --config: ") and "cue.yaml" in err and expected in err and "Traceback" not in err
    assert not checked
