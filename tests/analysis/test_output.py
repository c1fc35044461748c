"""Where the analysis commands write (the run directory or ``--out``, nothing else) and how pages get plotly.js."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from analysis import ablation, bicamon, cells, curves
from analysis.report import default_page

#: Each command with the quickest settings that still draw a whole page.
COMMANDS = {
    "curves": (curves.main, []),
    "ablation": (ablation.main, ["--no-cells"]),
    "bicamon": (bicamon.main, ["--max-frames", "5"]),
    "cells": (cells.main, ["--shuffles", "2", "--bin-size", "2", "--ports", "ca1.place_cells"]),
}


def files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def workspace(recorded_run, tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A copy of a recorded run and an empty current directory inside ``tmp_path``."""
    run = tmp_path / "runs" / "t31"
    shutil.copytree(recorded_run, run)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return run, tmp_path


def test_pages_go_to_the_run_directory_and_nowhere_else(workspace, capsys):
    run, root = workspace
    before = files(root)
    for name, (main, flags) in COMMANDS.items():
        assert main([str(run), *flags]) == 0, name
    written = files(root) - before
    assert written == {f"runs/t31/analysis/{name}.html" for name in COMMANDS} | {"runs/t31/analysis/plotly.min.js"}
    assert f"wrote {run}/analysis/bicamon.html" in capsys.readouterr().out


def test_out_puts_pages_where_it_says_and_nowhere_else(workspace):
    run, root = workspace
    before = files(root)
    for name, (main, flags) in COMMANDS.items():
        assert main([str(run), *flags, "--out", str(root / "pages" / f"{name}.html")]) == 0, name
    assert files(root) - before == {f"pages/{name}.html" for name in COMMANDS} | {"pages/plotly.min.js"}


def test_pages_of_several_runs_or_episodes_do_not_overwrite_each_other(workspace, make_run):
    run, root = workspace
    other = make_run("other", {"3-1": [True] * 5})
    before = files(root)
    assert curves.main([str(run)]) == 0 and curves.main([str(run), str(other)]) == 0
    assert bicamon.main([str(run), "--max-frames", "5"]) == 0
    assert bicamon.main([str(run), "--max-frames", "5", "--episode", "0"]) == 0
    assert bicamon.main([str(run / "recording.h5"), "--max-frames", "5"]) == 0  # the run's recording: the same page
    assert files(root) - before == {f"runs/t31/analysis/{page}" for page in (
        "curves.html", "curves-vs-other.html", "bicamon.html", "bicamon-episode-0.html", "plotly.min.js")}


def test_an_evaluation_recording_gets_its_own_page_names():
    assert default_page(Path("runs/t13/eval-1-3.h5"), "bicamon.html") == Path("runs/t13/analysis/eval-1-3-bicamon.html")


@pytest.mark.parametrize("mode", ["directory", "inline", "cdn"])
def test_plotlyjs_is_shared_inline_or_from_the_cdn(make_run, tmp_path, mode):
    run = make_run("alpha", {"1-1": [True, False] * 5})
    out = tmp_path / mode / "curves.html"
    assert curves.main([str(run), "--out", str(out), "--plotlyjs", mode]) == 0
    page, shared = out.read_text(), out.parent / "plotly.min.js"
    if mode == "directory":
        assert '<script charset="utf-8" src="plotly.min.js">' in page and len(page) < 200_000
        assert shared.read_text() == get_plotlyjs()
    else:
        assert not shared.exists()
        assert (len(page) > 4_000_000) == (mode == "inline") and ('src="https://cdn.plot.ly' in page) == (mode == "cdn")


def test_a_stale_shared_plotlyjs_is_replaced(make_run, tmp_path):
    out = tmp_path / "pages" / "curves.html"
    out.parent.mkdir()
    (out.parent / "plotly.min.js").write_text("/* another plotly version */")
    assert curves.main([str(make_run("alpha", {"1-1": [True]})), "--out", str(out)]) == 0
    assert (out.parent / "plotly.min.js").read_text() == get_plotlyjs()


def test_bad_plotlyjs_mode_is_refused_by_argparse(make_run, capsys):
    with pytest.raises(SystemExit) as exit_:
        curves.main([str(make_run("alpha", {"1-1": [True]})), "--plotlyjs", "web"])
    assert exit_.value.code == 2 and "--plotlyjs" in capsys.readouterr().err


#: What the commands write, by default and with --out or --png somewhere in a checkout, and tasks.play's frames.
GENERATED = ["runs/t13/analysis/bicamon.html", "runs/t13/analysis/plotly.min.js", "runs/t13/analysis/cells.png",
             "pages/curves-vs-b.html", "pages/plotly.min.js", "pages/curves-vs-b.png", "ablation.html",
             "runs/play/1-3/step_0000.png", "frames/step_0011.png"]


def test_generated_files_are_ignored_by_git():
    root = Path(__file__).parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *GENERATED], cwd=root, capture_output=True,
                             text=True).stdout.split()
    assert ignored == GENERATED
