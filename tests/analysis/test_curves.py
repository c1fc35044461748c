"""Learning curves from fake run directories: the page, its traces, the TensorBoard reader, user errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis import curves
from analysis.runs import labels, load_runs
from analysis.tfevents import read_scalars
from screenshot import chromium, read_png

LOSSES = {"global/loss/policy": [0.5, 0.3, 0.1, 0.1], "global/loss/value": [1.0, 2.0, 3.0, 4.0],
          "global/episode/return": [1.0, 2.0, 3.0, 4.0], "worker0/loss/policy": [9.0] * 4}


def test_page_overlays_runs_with_episode_curves_and_training_signals(make_run, plotted, tmp_path, capsys):
    first = make_run("alpha", {"1-1": [False, True, True, True], "1-2": [False] * 3}, losses=LOSSES)
    second = make_run("beta", {"1-1": [True] * 6}, losses=LOSSES)
    out = tmp_path / "pages" / "curves.html"
    assert curves.main([str(first), str(second), "--out", str(out), "--window", "2"]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and '<script charset="utf-8" src="plotly.min.js">' in page
    assert (out.parent / "plotly.min.js").stat().st_size > 1e6
    (episode_traces, episode_layout), (signal_traces, signal_layout) = plotted(page)
    assert {t["name"] for t in episode_traces} == {"alpha", "beta", "alpha worker 0", "alpha worker 1",
                                                   "beta worker 0", "beta worker 1"}
    assert {"task 1-1", "task 1-2"} <= {a["text"] for a in episode_layout["annotations"]}
    assert {a["text"] for a in signal_layout["annotations"]} == {"loss/policy", "loss/value"}
    assert {t["name"] for t in signal_traces} == {"alpha", "beta"}
    assert "wrote" in capsys.readouterr().out


def test_episode_figure_has_pooled_and_per_worker_curves_per_task(make_run):
    runs = load_runs([make_run("alpha", {"1-1": [False, True, True, True], "1-2": [False] * 3}),
                      make_run("beta", {"1-1": [True] * 6})])
    figure = curves.episode_figure(runs, window=2)
    assert len(figure.data) == 3 * 3 * 3  # (run, task) pairs x (pooled + 2 workers) x rows
    pooled = [t for t in figure.data if t.name == "alpha" and t.xaxis == "x"]  # row 1 (success), column 1-1
    assert len(pooled) == 1
    np.testing.assert_allclose(pooled[0].y, [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(pooled[0].x, [50, 100, 150, 200])
    worker = [t for t in figure.data if t.name == "alpha worker 1" and t.xaxis == "x"][0]
    np.testing.assert_allclose(worker.y, [1.0, 1.0])
    assert worker.visible == "legendonly" and pooled[0].visible is True
    assert sum(bool(t.showlegend) for t in figure.data) == 2 + 2 * 2  # each run and each run's worker once


def test_signal_figure_shows_run_wide_signals_not_already_drawn(make_run):
    runs = load_runs([make_run("alpha", {"1-1": [True]}, losses=LOSSES)])
    signals = [curves.training_signals(read_scalars(runs[0].path / "tb"))]
    assert sorted(signals[0]) == ["global/loss/policy", "global/loss/value"]
    figure = curves.signal_figure(runs, signals, window=2)
    value = [t for t in figure.data if t.xaxis == "x2"][0]
    np.testing.assert_array_equal(value.x, [20, 40, 60, 80])
    np.testing.assert_allclose(value.y, [1.0, 1.5, 2.5, 3.5])


def test_event_reader_recovers_scalars_and_stops_at_a_truncated_record(make_run):
    run = make_run("alpha", {"1-1": [True]}, losses={"global/loss/policy": [0.25, -1.5, 3.0]})
    series = read_scalars(run / "tb")["global/loss/policy"]
    np.testing.assert_array_equal(series.steps, [20, 40, 60])
    np.testing.assert_allclose(series.values, [0.25, -1.5, 3.0])
    (events,) = (run / "tb").glob("events.out.tfevents.*")
    events.write_bytes(events.read_bytes()[:-7])  # a crash in the middle of the last record
    np.testing.assert_array_equal(read_scalars(run / "tb")["global/loss/policy"].steps, [20, 40])


def test_run_without_tensorboard_gets_episode_curves_and_a_note(make_run, tmp_path, capsys):
    run = make_run("alpha", {"1-1": [True, False]})
    assert curves.main([str(run), "--out", str(tmp_path / "c.html")]) == 0
    assert "no TensorBoard scalars" in capsys.readouterr().out
    assert "Training signals" not in (tmp_path / "c.html").read_text()


@pytest.mark.parametrize("setup, message", [
    (lambda root: root / "missing", "no such run directory"),
    (lambda root: root, "no episodes.csv"),
])
def test_unusable_run_directories_give_one_line_and_exit_2(setup, message, tmp_path, capsys):
    assert curves.main([str(setup(tmp_path)), "--out", str(tmp_path / "c.html")]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error and not (tmp_path / "c.html").exists()


def test_run_without_finished_episodes_is_an_error(make_run, tmp_path, capsys):
    run = make_run("alpha", {"1-1": []})
    assert curves.main([str(run), "--out", str(tmp_path / "c.html")]) == 2
    assert "no finished episode" in capsys.readouterr().err


def test_bad_window_is_refused_by_argparse(make_run):
    with pytest.raises(SystemExit) as exit_:
        curves.main([str(make_run("alpha", {"1-1": [True]})), "--window", "0"])
    assert exit_.value.code == 2


def test_run_names_are_the_shortest_unique_path_tails():
    assert labels([Path("/r/a/1-1"), Path("/r/b/1-1"), Path("/r/b/1-2")]) == ["a/1-1", "b/1-1", "b/1-2"]
    assert labels([Path("/r/a/x"), Path("/r/a/y")]) == ["x", "y"]


def test_the_same_run_twice_is_an_error(make_run, tmp_path, capsys):
    run = make_run("alpha", {"1-1": [True]})
    assert curves.main([str(run), str(tmp_path / "." / "alpha"), "--out", str(tmp_path / "c.html")]) == 2
    assert "given twice" in capsys.readouterr().err


@pytest.mark.skipif(chromium() is None, reason="needs headless Chromium (Debian: apt-get install -y chromium)")
def test_png_flag_saves_a_screenshot_of_the_page_beside_it(make_run, tmp_path, capsys):
    run = make_run("alpha", {"1-1": [False, True, True, True]}, losses=LOSSES)
    out = tmp_path / "curves.html"
    assert curves.main([str(run), "--out", str(out), "--png"]) == 0
    image = read_png(out.with_suffix(".png"))
    assert image.shape[1] == 1400 and (image < 250).any(axis=2).mean() > 0.02  # drawn, not a blank page
    assert f"wrote {out.with_suffix('.png')}" in capsys.readouterr().out


def test_png_without_chromium_is_a_clear_error(make_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser to be found
    run = make_run("alpha", {"1-1": [True]}, losses=LOSSES)
    assert curves.main([str(run), "--out", str(tmp_path / "c.html"), "--png"]) == 2
    assert "--png needs Chromium" in capsys.readouterr().err
