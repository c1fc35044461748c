"""Hostile input, as a new user would write it: every case is one message, exit code 2, no traceback, no file changed.

One table, a row per mistake (issue 19, items 1-6): broken connectomes (resource bombs, files that
are not UTF-8 YAML, numbers that make NaNs, variants that break their base), bad flags, and run
directories that cannot be used as asked. Each row gives the command line and the words the
message must hold: the user's own file, the line or field, and the fix. Big and binary files are
generated here, never committed.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from brain import evaluate, run
from brain.training.config import TrainConfig
from brain.training.rundir import CHECKPOINT
from brain.training.train import prepare_run_dir
from brain.training.trainer import Trainer, WorkerCrashLoop

ROOT = Path(__file__).resolve().parents[2]
WBA = (ROOT / "connectome" / "wba.yaml").read_text()
TINY = str(Path(__file__).parent / "data" / "tiny.yaml")


def wba_with(old: str, new: str) -> str:
    """wba.yaml with one edit (the edit must apply: a stale row would otherwise test nothing)."""
    assert old in WBA, old
    return WBA.replace(old, new, 1)


@dataclass(frozen=True)
class Case:
    """One row: ``setup(tmp, run_dir)`` writes what it needs and returns the argv and the words the message holds."""

    item: int
    name: str
    setup: Callable[[Path, Path], tuple[list[str], list[str]]]
    cli: Callable = run.main


CASES: list[Case] = []


def case(item: int, name: str, cli: Callable = run.main):
    def register(setup):
        CASES.append(Case(item, name, setup, cli))
        return setup

    return register


def connectome_case(item: int, name: str, content: str | bytes | Callable[[], str | bytes], *words: str,
                    flags: tuple[str, ...] = ()) -> None:
    """A row whose file ``brain.yaml`` holds ``content``; ``words`` may say ``{file}`` for its path."""

    def setup(tmp: Path, _: Path) -> tuple[list[str], list[str]]:
        path = tmp / "brain.yaml"
        data = content() if callable(content) else content
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
        return ["--connectome", str(path), "--check", *flags], [word.format(file=path) for word in words]

    CASES.append(Case(item, name, setup))


def flag_case(item: int, name: str, argv: list[str], *words: str) -> None:
    CASES.append(Case(item, name, lambda tmp, run_dir: (argv, list(words))))


def alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    return "\n".join(lines) + "\n"


# --- 1. resource bombs --------------------------------------------------------------------------
connectome_case(1, "delay of ten million", wba_with("to: ca3.previous, delay: 1}", "to: ca3.previous, delay: 10000000}"),
                "{file}:68:", "connections[6].delay", "above the limit of 10,000 steps", "Fix:")
connectome_case(1, "hidden layer of 10^12 units", wba_with("hidden: 128,", "hidden: 1000000000000,"),
                "{file}:25:", "regions.entorhinal.params.hidden", "above the limit of 16,777,216", "Fix:")
connectome_case(1, "memory estimate above --max-memory-gb", wba_with("hidden: 128,", "hidden: 100000,"),
                "{file}:25:", "regions.entorhinal.params", "above the limit of 1 GB", "--max-memory-gb",
                flags=("--max-memory-gb", "1"))
connectome_case(1, "image input of 10^5 pixels a side", wba_with("rgb: [3, 84, 84]", "rgb: [3, 100000, 100000]"),
                "{file}:10:", "inputs.rgb", "above the limit of 4,096")
connectome_case(1, "alias bomb", alias_bomb, "{file}:", "expands to more than 100,000 values", "Fix:")
connectome_case(1, "nesting 200 deep", "name: x\nregions: " + "[" * 200 + "]" * 200 + "\n", "{file}:2:",
                "nested more than 50 deep")
connectome_case(1, "a file of 2 MB", lambda: "# padding\n" * 220_000, "{file}:", "a connectome is a few kB")
flag_case(1, "a thousand workers", ["--workers", "1000", "--check"], "--workers: 1000 workers is above the limit of 64",
          "--max-workers")


# --- 2. every file the loader can be handed -----------------------------------------------------
connectome_case(2, "Latin-1", ("name: café\n").encode("latin-1"), "{file}:1:", "not UTF-8", "save the file as UTF-8")
connectome_case(2, "UTF-16", codecs.BOM_UTF16_LE + "name: x\n".encode("utf-16-le"), "{file}:1:", "UTF-16",
                "save the file as UTF-8")
connectome_case(2, "binary", bytes(range(256)) * 4, "{file}:1:", "binary file", "Fix:")
connectome_case(2, "control character", "name: x\ndescription: a\x07b\n", "{file}:2:", "control character U+0007")
connectome_case(2, "NUL byte", "name: x\ndescription: a\x00b\n", "{file}:2:", "NUL byte")
connectome_case(2, "list as a mapping key", "name: x\n? [a, b]\n: 1\n", "{file}:2:", "a list is used as a key")
connectome_case(2, "integer top-level key", "name: x\n1: regions\n", "{file}:2:", "key `1` reads as a number",
                "write a field name before the colon (name, description", "'1':")
connectome_case(2, "null top-level key", "name: x\n~: 1\n", "{file}:2:", "an empty key", "field name")
connectome_case(2, "on as a key", "name: x\non: 1\n", "{file}:2:", "reads as true", "'on':")
connectome_case(2, "empty extends", "extends: ''\nname: x\n", "{file}:1:", "extends", "or delete the line")
connectome_case(2, "null extends", "name: x\nextends:\n", "{file}:2:", "extends", "or delete the line")
connectome_case(2, "unclosed quote reported where it opens", "name: x\ndescription: \"a brain\nspace: s\nregions: {}\n",
                "{file}:2:", "quoted scalar", "close the quote")


@case(2, "extends a file that is not YAML")
def _(tmp: Path, _: Path):
    (tmp / "notes.txt").write_text("some notes\n")
    (tmp / "brain.yaml").write_text("name: x\nextends: notes.txt\n")
    return ["--connectome", str(tmp / "brain.yaml"), "--check"], [f"{tmp / 'brain.yaml'}:2:", "extends",
                                                                   "not a YAML connectome file", ".txt"]


flag_case(2, "--connectome ''", ["--connectome", "", "--check"], "--connectome", "empty", "Fix:")
flag_case(2, "--connectome /", ["--connectome", "/", "--check"], "--connectome", "'/' is a directory")


@case(2, "--connectome a directory")
def _(tmp: Path, _: Path):
    return ["--connectome", str(tmp), "--check"], ["--connectome", "is a directory", "a .yaml file inside it"]


# --- 3. --check validates everything a run will use --------------------------------------------
HIPPOCAMPUS = "{key_size: 64, k: 50, actions: 3}"
connectome_case(3, "memory alpha 5", wba_with(HIPPOCAMPUS, "{key_size: 64, k: 50, actions: 3, alpha: 5}"),
                "{file}:40:", "regions.hippocampus.params", "alpha must be in (0, 1]")
connectome_case(3, "memory backend unknown", wba_with(HIPPOCAMPUS, "{key_size: 64, k: 50, actions: 3, backend: fast}"),
                "{file}:40:", "regions.hippocampus.params", "unknown backend 'fast'")
connectome_case(3, "memory capacity 0", wba_with(HIPPOCAMPUS, "{key_size: 64, k: 50, actions: 3, capacity: 0}"),
                "{file}:40:", "regions.hippocampus.params", "capacity must be a positive integer")
connectome_case(3, "memory k 0", wba_with(HIPPOCAMPUS, "{key_size: 64, k: 0, actions: 3}"),
                "{file}:40:", "regions.hippocampus.params", "k must be a positive integer")
connectome_case(3, "NaN parameter", wba_with("dropout: 0.5", "dropout: .nan"), "{file}:25:",
                "regions.entorhinal.params.dropout", "not a finite number")
connectome_case(3, "infinite position", wba_with("[9041, 1404, 8054]", "[.inf, 1404, 8054]"), "{file}:21:",
                "regions.visual_cortex.position", "not a finite number")
connectome_case(3, "NaN weight", wba_with("weight: 0.14", "weight: .nan"), "{file}:66:", "connections[4].weight")
connectome_case(3, "zero scale", wba_with("place_cells: 256}", "place_cells: 256, turn_scale: 0}"), "{file}:25:",
                "regions.entorhinal.params", "turn_scale must be positive")
connectome_case(3, "5-action prefrontal on a 3-action task",
                wba_with("{working_memory: 128, actions: 3,", "{working_memory: 128, actions: 5,").replace(
                    HIPPOCAMPUS, "{key_size: 64, k: 50, actions: 5}"),
                "{file}:45:", "regions.prefrontal.params.actions", "5 logits but task 1-3 has 3 actions")
connectome_case(3, "256-wide policy port", wba_with("policy: prefrontal.logits", "policy: ca3.state"), "{file}:14:",
                "policy", "256 logits but task 1-3 has 3 actions")
connectome_case(3, "depth input with 2 channels", wba_with("depth: [1, 32, 32]", "depth: [2, 32, 32]"), "{file}:11:",
                "inputs.depth", "env.depth has shape [1, 32, 32]")
connectome_case(3, "a delay on an environment port", wba_with("  - env.odometry -> entorhinal.self_motion",
                                                            "  - {from: env.odometry, to: entorhinal.self_motion, "
                                                            "delay: 1}"),
                "{file}:63:", "connections[2].delay", "environment port", "drop the delay")
flag_case(3, "--record-regions unknown", ["--record-regions", "cortex", "--check"], "--record-regions",
          "unknown region 'cortex'")
for flag, value in (("--lr", "nan"), ("--gamma", "nan"), ("--entropy-coef", "inf"), ("--max-minutes", "nan")):
    flag_case(3, f"{flag} {value}", [flag, value, "--check"], f"argument {flag}: expected a finite number")


# --- 4. errors that belong to a variant name the variant ----------------------------------------
def variant_case(name: str, body: str, *words: str) -> None:
    def setup(tmp: Path, _: Path) -> tuple[list[str], list[str]]:
        path = tmp / "variant.yaml"
        path.write_text("extends: wba.yaml\nname: variant\n" + body)
        return ["--connectome", str(path), "--check"], [word.format(file=path) for word in words]

    CASES.append(Case(4, name, setup))


variant_case("changed inputs break the base's visual cortex", "inputs:\n  rgb: [3, 8, 8]\n", "{file}:4:", "inputs.rgb",
             "too small", "wba.yaml:20 regions.visual_cortex.params, which this file's `inputs.rgb` changes")
variant_case("an added connection into the base", "connections+:\n  - {from: prefrontal.logits, to: ca3.visual}\n",
             "{file}:4:", "zero-delay cycle")
variant_case("changed params break a base connection", "regions:\n  prefrontal: {params: {actions: 5}}\n", "{file}:4:",
             "regions.prefrontal.params", "params.actions is 5")
variant_case("changed inputs break a base connection", "inputs:\n  depth: [32]\n", "{file}:4:", "inputs.depth",
             "wba.yaml:")


# --- 5. run directories -------------------------------------------------------------------------
@case(5, "--out is a regular file")
def _(tmp: Path, _: Path):
    (tmp / "notes.txt").write_text("x")
    return ["--connectome", TINY, "--out", str(tmp / "notes.txt")], ["notes.txt is a file, not a directory", "choose a directory"]


@case(5, "--out below a file")
def _(tmp: Path, _: Path):
    (tmp / "notes.txt").write_text("x")
    return ["--connectome", TINY, "--out", str(tmp / "notes.txt" / "run")], ["is a file, so no directory can be made", "choose another --out"]


@case(5, "--out where nothing can be created")
def _(tmp: Path, _: Path):
    return ["--connectome", TINY, "--out", "/proc/hostile-input-run"], ["--out /proc/hostile-input-run", "choose"]


@case(5, "--out in a read-only directory")
def _(tmp: Path, _: Path):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    (tmp / "locked").mkdir(mode=0o500)
    return ["--connectome", TINY, "--out", str(tmp / "locked" / "run")], ["is not writable for you", "choose a directory you may write"]


def truncate_checkpoint(run_dir: Path) -> None:
    data = (run_dir / CHECKPOINT).read_bytes()
    (run_dir / CHECKPOINT).write_bytes(data[: len(data) // 2])


def foreign_checkpoint(run_dir: Path) -> None:
    payload = torch.load(run_dir / CHECKPOINT, weights_only=False)
    key = next(iter(payload["brain"]))
    payload["brain"][key] = torch.zeros(7, 7)
    torch.save(payload, run_dir / CHECKPOINT)


for damage, words in ((truncate_checkpoint, ("damaged or not a checkpoint", "restore it from a copy")),
                      (foreign_checkpoint, ("written by a brain of another connectome", "start a new run"))):
    def resume(tmp: Path, run_dir: Path, damage=damage, words=words):
        damage(run_dir)
        return ["--out", str(run_dir), "--resume", "--steps", "999"], [f"{run_dir / CHECKPOINT}", *words]

    def evaluate_it(tmp: Path, run_dir: Path, damage=damage, words=words):
        damage(run_dir)
        return [str(run_dir), "--episodes", "1"], [f"{run_dir / CHECKPOINT}", *words]

    CASES.append(Case(5, f"--resume, {damage.__name__}", resume))
    CASES.append(Case(5, f"evaluate, {damage.__name__}", evaluate_it, evaluate.main))


@case(5, "--resume with another --lr")
def _(tmp: Path, run_dir: Path):
    return ["--out", str(run_dir), "--resume", "--lr", "0.5"], ["--lr 0.5 differs from the run's stored", "drop --lr"]


@case(5, "--resume with another --connectome")
def _(tmp: Path, run_dir: Path):
    return ["--out", str(run_dir), "--resume", "--connectome", "wba"], ["--connectome wba differs", "drop --connectome"]


@case(5, "--resume with a damaged config.yaml")
def _(tmp: Path, run_dir: Path):
    (run_dir / "config.yaml").write_text("steps: [unclosed\n")
    return ["--out", str(run_dir), "--resume"], ["config.yaml:2: YAML syntax error", "check the indentation"]


@case(5, "--resume with a hand-edited config.yaml value out of range")
def _(tmp: Path, run_dir: Path):
    text = (run_dir / "config.yaml").read_text()
    (run_dir / "config.yaml").write_text(text.replace("ticks_per_step: 10", "ticks_per_step: 0"))
    return ["--out", str(run_dir), "--resume"], ["config.yaml:", "ticks_per_step: must be at least 1, got 0",
                                                 "e.g. the default `ticks_per_step: 10`"]


@case(6, "a policy the task cannot act on is refused before a worker crashes on it")
def _(tmp: Path, _: Path):
    path = tmp / "variant.yaml"
    path.write_text("extends: " + TINY + "\nname: v\nregions:\n  prefrontal: {params: {actions: 4}}\n"
                    "  hippocampus: {params: {actions: 4}}\n")
    return ["--connectome", str(path), "--out", str(tmp / "run")], [f"{path}:", "4 logits but task 1-3 has 3 actions"]


# --- the test ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stored_run(tmp_path_factory) -> Path:
    """A run directory as a run leaves it after its first checkpoint (no worker needed to make one)."""
    cfg = TrainConfig(connectome=TINY, task="1-2", workers=1, steps=100, out=str(tmp_path_factory.mktemp("hostile") /
                                                                                 "run"), record_every=0)
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    Trainer(cfg, run_dir, run_dir / "connectome.yaml").checkpoint()
    return run_dir


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_every_item_of_the_issue_has_a_row():
    assert {row.item for row in CASES} == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize("row", CASES, ids=[f"{row.item}-{row.name}" for row in CASES])
def test_hostile_input_is_one_message_with_exit_code_2(row: Case, tmp_path: Path, stored_run: Path, capsys):
    run_dir = tmp_path / "stored"
    shutil.copytree(stored_run, run_dir)
    argv, words = row.setup(tmp_path, run_dir)
    before = snapshot(run_dir)
    try:
        code = row.cli(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err, err
    assert sum(line.startswith("error: ") or ": error: " in line for line in err.splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    assert snapshot(run_dir) == before, "a refused command changed the run directory"


# --- run directories that must stay usable --------------------------------------------------------
def test_a_run_that_died_before_its_first_checkpoint_can_be_started_again(stored_run: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    shutil.copytree(stored_run, run_dir)
    (run_dir / CHECKPOINT).unlink()  # as a run killed before its first checkpoint leaves it
    (run_dir / "episodes.csv").write_text("time,worker\n1,0\n")
    cfg = TrainConfig(connectome=TINY, task="1-2", workers=1, steps=100, out=str(run_dir), record_every=0)
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    assert (run_dir / "config.yaml").is_file() and not (run_dir / "episodes.csv").exists()


def test_resume_applies_steps_and_workers_and_writes_nothing_before_the_checkpoint_loads(stored_run: Path,
                                                                                        tmp_path: Path):
    run_dir = tmp_path / "run"
    shutil.copytree(stored_run, run_dir)
    before = snapshot(run_dir)
    cfg = TrainConfig(connectome=TINY, steps=5000, workers=2, out=str(run_dir), lr=0.5)  # lr not on the command line
    _, resumed = prepare_run_dir(cfg, resume=True, given=frozenset({"steps", "workers", "out", "connectome"}))
    assert (resumed.steps, resumed.workers, resumed.lr) == (5000, 2, TrainConfig().lr)
    assert snapshot(run_dir) == before


def test_a_worker_that_crashes_on_every_step_stops_the_run_with_its_error(tmp_path: Path):
    """A 4-action actor on a 3-action task, past the checks (a file written by hand into a run directory)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path = run_dir / "connectome.yaml"
    path.write_text(f"extends: {TINY}\nname: v\nregions:\n  prefrontal: {{params: {{actions: 4}}}}\n"
                    "  hippocampus: {params: {actions: 4}}\n  visual_cortex: {params: {features: 8}}\n")
    cfg = TrainConfig(connectome=str(path), task="1-2", workers=1, steps=10_000, out=str(run_dir), t_max=50,
                      record_every=0, checkpoint_every=10**9)
    trainer = Trainer(cfg, run_dir, path)
    with torch.no_grad():  # action 3 (not in the task) about 3 times in 10: a life takes a few steps, never a rollout
        trainer.brain.regions["prefrontal"].readout.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.25]))
    with pytest.raises(WorkerCrashLoop, match="before it finished a rollout(.|\n)*ValueError"):
        trainer.train()
