"""The cells page of a path-integration pre-training: it shows the measures the pre-training wrote, and refuses a
damaged or foreign output in one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from analysis import bicamon, cells, curves
from analysis.gridcells import circular_orientation, top_by_gridness
from analysis.pretraining import read_pretraining
from analysis.report import chromium
from brain import pretrain_paths
from conftest import decoded

TINY = ["--updates", "4", "--batch", "8", "--steps", "10", "--eval-batch", "60", "--bins", "8", "--shuffles", "3",
        "--log-seconds", "1000", "--measure-minutes", "1e-6"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """A pre-training of four updates, measured on 60 held-out paths of 10 steps in 8 x 8 bins after each update."""
    out = tmp_path_factory.mktemp("pretraining") / "paths"
    assert pretrain_paths.main([*TINY, "--out", str(out)]) == 0
    return out


def _figure(figures, title):
    [(traces, layout)] = [(t, l) for t, l in figures if l["title"]["text"].startswith(title)]
    return traces, layout


def test_the_page_shows_the_measures_the_pre_training_wrote(paths, plotted, capsys):
    assert cells.main([str(paths), "--top", "3"]) == 0
    page = paths / "analysis" / "cells.html"  # the cells page's place in the output directory
    printed = capsys.readouterr().out
    data, arrays = json.loads((paths / "cells.json").read_text()), np.load(paths / "cells.npz")
    figures = plotted(page.read_text())
    settings = dict(zip(*_figure(figures, "Path-integration pre-training")[0][0]["cells"]["values"]))
    assert settings["samples per rate map"].startswith("600: 60 held-out trajectories of 10 steps")
    assert settings["training"].startswith("4 updates")
    findings = _figure(figures, "Grid units of the trained region")[0][0]["cells"]["values"]
    rows = {measure: (trained, untrained) for measure, trained, untrained, _ in zip(*findings)}
    for index, name in enumerate(("trained", "untrained")):
        report = data[name]
        pooled = round(report["share_pooled"] * 256)
        own = sum(g > t for g, t in zip(report["gridness"], report["thresholds"]))
        assert rows["grid units: gridness above its own shuffles' 95th percentile"][index].startswith(f"{own} of 256")
        pooled_row = rows["grid units: gridness above the 95th percentile of all units' shuffles pooled"][index]
        assert pooled_row.startswith(f"{pooled} of 256") and f"threshold {report['pooled_threshold']:.3f}" in pooled_row
        finite = np.isfinite(report["gridness"])
        assert rows["units with a finite gridness (a central autocorrelogram peak)"][index] == str(finite.sum())
        assert rows["held-out loss: place_cells"][index] == f"{report['loss']['place_cells']:.3f}"
    losses, _ = _figure(figures, "Training losses, 4 updates")
    total = [trace for trace in losses if trace["name"] == "loss (sum)"]
    assert len(total) == 2 and len(decoded(total[0]["y"])) == 4  # against minutes and against updates
    over_training, layout = _figure(figures, "Grid units over training: 5 measures on the same 600 held-out steps")
    pooled = [trace for trace in over_training if trace["name"].endswith("all units' shuffles pooled")]
    shares = decoded(pooled[0]["y"])  # from the untrained region to the trained, in percent
    assert len(shares) == 5 and shares[0] == pytest.approx(100 * data["untrained"]["share_pooled"])
    assert shares[-1] == pytest.approx(100 * data["trained"]["share_pooled"])
    histogram, _ = _figure(figures, "Gridness of the trained")
    bars = {trace["name"].split(":")[0]: decoded(trace["y"]).sum() for trace in histogram if trace["type"] == "bar"}
    assert bars == {name: np.isfinite(data[name]["gridness"]).sum() for name in ("trained", "untrained")}
    lines = [trace for trace in histogram if "pooled 95th percentile" in trace.get("name", "")]
    assert decoded(lines[0]["x"])[0] == pytest.approx(data["trained"]["pooled_threshold"])
    maps, layout = _figure(figures, "Trained: rate maps and autocorrelograms of the top 3 of 256")
    best = int(np.nanargmax(data["trained"]["gridness"]))
    np.testing.assert_allclose(decoded(maps[0]["z"]), arrays["trained_rate_maps"][best])
    np.testing.assert_allclose(decoded(maps[1]["z"]), arrays["trained_autocorrelograms"][best])
    assert layout["annotations"][0]["text"].startswith(f"#{best}: gridness {data['trained']['gridness'][best]:.3f}")
    assert len(maps) == 6 and all("colorbar" in trace for trace in maps)
    assert "each rate map pools 600 samples" in layout["title"]["text"]
    _figure(figures, "Untrained: rate maps")
    spacing, layout = _figure(figures, "Spacing and orientation of the grid units")
    for trace, name in zip(spacing, ("trained", "untrained")):  # each network's count said, even when it is 0
        grid_units = len(data[name]["spacing_m"])
        assert len(decoded(trace["x"])) == grid_units and f"{name}: {grid_units} grid unit" in layout["title"]["text"]
    assert f"wrote {page}: path-integration pre-training, 4 updates, 600 samples per rate map" in printed


def test_the_top_units_are_those_of_highest_finite_gridness(paths):
    network = read_pretraining(paths).networks["untrained"]
    ranked = top_by_gridness(network, 256)
    gridness = network.gridness[ranked]
    assert len(ranked) == np.isfinite(network.gridness).sum() and np.all(np.diff(gridness) <= 0)


def test_orientation_is_averaged_on_its_sixty_degree_circle():
    mean, length = circular_orientation(np.array([58.0, 4.0]))
    assert mean == pytest.approx(1.0) and length == pytest.approx(np.cos(np.radians(18)))


def _altered(paths, tmp_path, name, how):
    """A copy of the pre-training output ``paths`` changed by ``how``."""
    copy = tmp_path / name
    shutil.copytree(paths, copy)
    how(copy)
    return copy


def _edit_reports(edit):
    """A change to both networks' reports in ``cells.json``."""
    def how(run):
        data = json.loads((run / "cells.json").read_text())
        for name in ("trained", "untrained"):
            edit(data[name])
        (run / "cells.json").write_text(json.dumps(data))
    return how


@pytest.mark.parametrize("edit, figure, note", [
    (lambda report: report.pop("thresholds"), "Gridness of the trained", "holds no per-unit thresholds"),
    (lambda report: report.update(spacing_m=[], orientation_deg=[]), "Spacing and orientation",
     "no unit of either network passed the pooled 95th percentile"),
], ids=["no per-unit thresholds", "no grid unit"])
def test_what_a_file_does_not_hold_is_said_on_the_page(edit, figure, note, paths, tmp_path, plotted):
    """A cells.json written before the per-unit thresholds were stored; a run in which no unit passed."""
    out = tmp_path / "page.html"
    assert cells.main([str(_altered(paths, tmp_path, "altered", _edit_reports(edit))), "--out", str(out)]) == 0
    _, layout = _figure(plotted(out.read_text()), figure)
    assert any(note in annotation["text"] for annotation in layout["annotations"])


def test_an_output_not_measured_during_training_says_so_on_the_page(paths, tmp_path, plotted):
    """Written before grid_over_training.csv was, or by an older version: the page says how to get the curve."""
    out = tmp_path / "page.html"
    unmeasured = _altered(paths, tmp_path, "unmeasured", lambda run: (run / "grid_over_training.csv").unlink())
    assert cells.main([str(unmeasured), "--out", str(out)]) == 0
    _, layout = _figure(plotted(out.read_text()), "Grid units over training: not measured")
    assert "rerun python -m brain.pretrain_paths with --measure-minutes" in layout["annotations"][0]["text"]


def _other_bins(run):
    arrays = dict(np.load(run / "cells.npz"))
    arrays["untrained_rate_maps"] = arrays["untrained_rate_maps"][:, :5, :5]
    np.savez(run / "cells.npz", **arrays)


DAMAGES = {
    "no-arrays": (lambda run: (run / "cells.npz").unlink(), "no cells.npz"),
    "not-json": (lambda run: (run / "cells.json").write_text("{"), "is not JSON"),
    "foreign": (lambda run: (run / "cells.json").write_text('{"place cells": 3}'),
                "is not the output of python -m brain.pretrain_paths"),
    "no-field": (_edit_reports(lambda report: report.pop("gridness")), "'trained' lacks gridness"),
    "bad-arrays": (lambda run: (run / "cells.npz").write_bytes(b"not a zip"), "cells.npz is damaged"),
    "other-bins": (_other_bins, "untrained arrays of shape (256, 5, 5), expected (256, 8, 8)"),
    "no-losses": (lambda run: (run / "losses.csv").write_text(""), "no column 'update'"),
    "bad-over-training": (lambda run: (run / "grid_over_training.csv").write_text("update,seconds\n1,x\n"),
                          "grid_over_training.csv is damaged"),
}


def test_a_damaged_or_foreign_output_is_one_line_and_exit_2(paths, tmp_path, capsys):
    out = tmp_path / "page.html"
    cases = [([str(_altered(paths, tmp_path, name, how))], message) for name, (how, message) in DAMAGES.items()]
    cases.append(([str(paths), "--shuffles", "5", "--maze", "cross"], "--maze, --shuffles: not for a path-integration"))
    for argv, message in cases:
        assert cells.main([*argv, "--out", str(out)]) == 2, message
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error and error.count("\n") == 1, error
    assert not out.exists()


@pytest.mark.parametrize("command, given", [(bicamon.main, ""), (curves.main, ""), (cells.main, "cells.npz")])
def test_the_other_pages_say_where_a_pre_training_is_drawn(command, given, paths, tmp_path, capsys):
    assert command([str(paths / given), "--out", str(tmp_path / "page.html")]) == 2
    assert f"its page: python -m analysis.cells {paths}" in capsys.readouterr().err


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_no_text_of_the_page_covers_another_in_a_browser(paths, tmp_path):
    from browser import DRAWN, Browser

    out = tmp_path / "cells.html"
    assert cells.main([str(paths), "--out", str(out)]) == 0
    with Browser(1400, 1300) as browser:
        browser.open(out, DRAWN)
        assert browser.overlapping_texts() == []
