"""Cell analyses: synthetic units whose type is known, the page from a small real recording, user errors."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import cells
from analysis.cellstats import (DIRECTION_BINS, MIN_GRID_BINS, Pooled, Settings, cell_fractions, measure_units, pool,
                                pooled_activity)
from analysis.checklist import NOT_DONE_2017, TICKED_2017
from analysis.mazemap import free_extent, rate_map_extent
from analysis.metrics import rate_map
from analysis.recordings import maze_of
from analysis.report import chromium
from brain.recording import open_run
from recorded import empty_recording
from test_metrics import random_walk

ARENA = 20.0  # metres
FAST = Settings(bin_size=1.0, smoothing=1.0, shuffles=10)


@pytest.fixture(scope="module")
def arena() -> tuple[Pooled, np.ndarray]:
    """A random walk in a 20 m square arena and signed units: grid, head-direction, place, then noise."""
    positions, headings = random_walk(12_000, seed=11, step=0.01)
    positions = positions * ARENA
    pooled = Pooled("arena", [0], 0, positions, headings, (0.0, ARENA, 0.0, ARENA))
    rng = np.random.default_rng(11)
    x, z = positions[:, 0], positions[:, 1]
    k = 2 * np.pi / 7.0  # a 7 m grid
    grid = sum(np.cos(k * (np.cos(a) * x + np.sin(a) * z)) for a in np.deg2rad([10, 70, 130]))
    head = np.exp(3 * np.cos(headings - 1.0))
    place = np.exp(-((x - 5) ** 2 + (z - 14) ** 2) / (2 * 2.0 ** 2))
    activity = np.column_stack([grid - 5, head, place, rng.normal(size=(len(x), 12))])  # signed, as a tanh unit
    return pooled, activity - activity.min(axis=0)


def test_planted_grid_head_direction_and_place_units_are_found(arena):
    pooled, activity = arena
    port = measure_units("ec.mixed", activity, pooled, FAST)
    significant = {measure: port.significant(measure) for measure in cells.MEASURES}
    assert significant["gridness"][0] and significant["direction"][1] and significant["information"][2]
    assert significant["gridness"][3:].mean() < 0.2 and significant["direction"][3:].mean() < 0.2
    assert np.nanargmax(port.scores["gridness"].observed) == 0
    assert port.scores["direction"].observed[1] > 0.5
    assert port.maps.rates.shape == (15, 20, 20) and port.tuning.shape == (15, DIRECTION_BINS)


def test_top_unit_figures_show_the_planted_cells(arena):
    pooled, activity = arena
    port = measure_units("ec.mixed", activity, pooled, FAST)
    autocorrelograms = cells.autocorrelogram_figure([port], top=2)
    assert autocorrelograms.layout.annotations[0].text.startswith("ec.mixed #0<br>")
    assert np.asarray(autocorrelograms.data[0].z).shape == (39, 39)
    tuning = cells.tuning_figure([port], top=1)
    assert tuning.data[0].type == "scatterpolar" and tuning.layout.annotations[0].text.startswith("ec.mixed #1<br>")
    assert tuning.layout.polar.angularaxis.rotation == 90 and tuning.layout.polar.angularaxis.direction == "clockwise"
    maps = cells.rate_map_figure([port], top=3)
    assert len(maps.data) == 9  # three measures, three units each
    assert {"gridness", "spatial information (bits)"} <= {a.text for a in maps.layout.annotations}


def test_a_corridor_is_too_narrow_for_gridness_and_says_so(arena):
    pooled, activity = arena
    corridor = Pooled("onedim", [0], 0, pooled.positions * [0.035, 1], pooled.headings, (0.0, 0.7, 0.0, ARENA))
    port = measure_units("ec.mixed", activity, corridor, FAST)
    assert "gridness" not in port.scores and f"needs {MIN_GRID_BINS}" in port.skipped["gridness"]
    assert port.fraction("gridness") is None and port.fraction("information") is not None


def test_a_silenced_port_has_no_significant_units_rather_than_no_answer(arena):
    pooled, _ = arena
    port = measure_units("amygdala.valence", np.zeros((pooled.steps, 4)), pooled, FAST)
    assert [port.fraction(m) for m in cells.MEASURES] == [0.0, 0.0, 0.0]


def test_pooled_activity_is_each_units_activity_shifted_to_a_zero_minimum(recorded_run):
    with open_run(recorded_run) as recording:
        pooled = pool(recording, [0, 1, 2])
        shifted = pooled_activity(recording, pooled, "ca1.place_cells")
        raw = np.concatenate([recording.episode(i).activity("ca1", "place_cells") for i in range(3)])
        first = recording.episode(0).pose[:3, :2]
    assert pooled.maze == "cross" and pooled.steps == 450 and shifted.shape == (450, 32)
    np.testing.assert_allclose(shifted.min(axis=0), 0.0)
    np.testing.assert_allclose(shifted, raw - raw.min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pooled.positions[:3], first)


def test_page_fills_the_checklist_and_shows_rate_maps_and_tuning(recorded_run, plotted, tmp_path, capsys):
    out = tmp_path / "cells.html"
    argv = [str(recorded_run), "--out", str(out), "--bin-size", "2", "--smoothing", "2", "--shuffles", "5"]
    assert cells.main(argv) == 0
    printed = capsys.readouterr().out
    assert "maze cross, 3 episodes, 450 of 450 recorded steps binned" in printed
    assert "ca1.place_cells (32 units)" in printed and "median z" in printed
    figures = plotted(out.read_text())
    checklist, summary = figures[0][0][0], figures[1][0][0]
    items, claimed, measured = checklist["cells"]["values"]
    assert items == list(TICKED_2017 + NOT_DONE_2017)
    row = dict(zip(items, measured))
    assert "ca1.place_cells: " in row["place cells"] and "/32 (" in row["place cells"]
    assert row["navigation"] == "0 of 3 recorded episodes in maze cross ended in success"
    assert row["replay"].startswith("NEC-style reverse replay") and "only training writes the memory" in row["replay"]
    assert "the memory was empty at all 450 lookups" in row["episodic memory"]  # untrained, never written
    assert row["path integration"].startswith("not measured: no trained weights")  # a recording without checkpoint
    assert row["sparse representation"].startswith("mean population sparseness")
    assert claimed[items.index("replay")] == "ticked" and claimed[items.index("subiculum")] == "not done"
    assert summary["cells"]["values"][0] == list(cells.DEFAULT_PORTS)
    kinds = {trace["type"] for traces, _ in figures[2:] for trace in traces}
    assert {"heatmap", "scatterpolar"} <= kinds


def test_fractions_of_the_classic_cell_types_for_the_ablation_table(recorded_run, lesioned_run):
    with open_run(recorded_run) as recording:
        shares = cell_fractions(recording, [0, 1, 2], Settings(bin_size=2.0, shuffles=3))
    assert set(shares) == {"place_cells", "grid_cells", "head_direction_cells"}
    assert 0 <= shares["place_cells"] <= 1 and shares["grid_cells"] is None  # the cross maze's arms are 1 bin wide
    with open_run(lesioned_run) as recording:
        assert cell_fractions(recording, [0], Settings(bin_size=2.0, shuffles=3))["place_cells"] is not None


def test_bad_input_gives_one_line_and_exit_2(recorded_run, lesioned_run, make_run, tmp_path, capsys):
    out = tmp_path / "c.html"
    cases = [
        ([str(make_run("no-recording", {"1-1": [True]}))], "no recording.h5"),
        ([str(empty_recording(tmp_path / "empty"))], "no finished episode"),
        ([str(recorded_run), "--ports", "ca1,cortex"], "unknown region 'cortex'"),
        ([str(recorded_run), "--ports", "ca1.nope"], "no port 'ca1.nope' recorded"),
        ([str(lesioned_run), "--ports", "hippocampus"], "removed by a lesion"),
        ([str(recorded_run), "--maze", "arrow"], "no recorded episode in maze 'arrow'"),
    ]
    for argv, message in cases:
        assert cells.main([*argv, "--out", str(out)]) == 2, message
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error and error.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("flag", [["--bin-size", "0"], ["--percentile", "101"], ["--shuffles", "0"],
                                  ["--smoothing", "-1"]])
def test_bad_flags_are_refused_by_argparse(flag, recorded_run):
    with pytest.raises(SystemExit) as exit_:
        cells.main([str(recorded_run), *flag])
    assert exit_.value.code == 2


def corridor_walk(laps: int = 4, length: float = 20.0, step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``[T, 2]`` and headings of an agent running north up a corridor along z and south back, ``laps`` times."""
    up = np.arange(0.0, length, step)
    z = np.concatenate([np.concatenate([up, up[::-1]]) for _ in range(laps)])
    heading = np.concatenate([np.concatenate([np.zeros_like(up), np.full_like(up, np.pi)]) for _ in range(laps)])
    return np.stack([np.zeros_like(z), z], axis=1), heading


def test_corridor_profiles_tell_a_place_unit_from_a_direction_dependent_one():
    positions, headings = corridor_walk()
    z, north = positions[:, 1], np.cos(headings) > 0
    place = np.exp(-((z - 10) ** 2) / 2)  # the same field both ways
    split = np.where(north, np.exp(-((z - 5) ** 2) / 2), np.exp(-((z - 15) ** 2) / 2))  # a field per direction
    centres, profiles = cells.direction_profiles(positions, headings, np.stack([place, split], axis=1), 1, 1.0)
    assert centres[0] == 0.5 and len(centres) == 20
    assert np.nanargmax(profiles["north"][0]) == np.nanargmax(profiles["south"][0]) == 10
    assert np.nanargmax(profiles["north"][1]) == 5 and np.nanargmax(profiles["south"][1]) == 15
    place_r, split_r = cells.direction_agreement(profiles)
    assert place_r > 0.99 and split_r < 0.2


@pytest.fixture(scope="module")
def corridor_run(tmp_path_factory):
    from recorded import record_run
    return record_run(tmp_path_factory.mktemp("corridor") / "tiny-1-3", task="1-3", episodes=2, steps=120)


def test_corridor_page_shows_both_directions_and_every_rate_map_has_a_colour_bar(corridor_run, plotted, tmp_path):
    out = tmp_path / "cells.html"
    argv = [str(corridor_run), "--out", str(out), "--shuffles", "2", "--ports", "ca1.place_cells", "--top", "3"]
    assert cells.main(argv) == 0
    figures = plotted(out.read_text())
    maps = [t for traces, _ in figures for t in traces if t["type"] == "heatmap"]
    assert maps and all(t.get("showscale", True) for t in maps)
    assert len({round(t["colorbar"]["x"], 3) for t in maps}) == 3  # one bar beside each column of maps
    [(traces, layout)] = [(t, l) for t, l in figures if "per running direction" in l["title"]["text"]]
    assert {t["name"] for t in traces} == {"running north", "running south"} and len(traces) == 6
    assert "position and heading go together" in layout["title"]["text"]
    assert all("north/south r" in a["text"] for a in layout["annotations"] if "#" in a["text"])


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_no_text_of_the_corridor_page_covers_another_in_a_browser(corridor_run, tmp_path):
    """Rendered by headless Chromium, no two labels of a figure overlap: on the corridor the x ticks of the
    one-bin-wide maps piled up, the row titles ran into the colour bars' ticks, and (in every maze) the polar
    plots' 90 and 270 degree labels ran into their neighbours'."""
    from browser import DRAWN, Browser

    out = tmp_path / "cells.html"
    assert cells.main([str(corridor_run), "--out", str(out), "--shuffles", "2"]) == 0
    with Browser(1400, 1300) as browser:
        browser.open(out, DRAWN)
        assert "per running direction" in browser.evaluate("document.body.textContent")  # the corridor's figure too
        assert browser.overlapping_texts() == []


def test_other_mazes_have_no_corridor_figure(recorded_run, plotted, tmp_path):
    out = tmp_path / "cells.html"
    assert cells.main([str(recorded_run), "--out", str(out), "--shuffles", "2", "--ports", "ca1.place_cells"]) == 0
    assert not any("per running direction" in layout["title"]["text"] for _, layout in plotted(out.read_text()))


def test_a_wall_hugging_trajectory_in_the_corridor_is_binned_in_full():
    """The 1-D corridor's agent runs against its walls at |x| = 0.42 m and starts at z = 0, 0.5 m from the wall behind."""
    steps = 400
    positions = np.stack([np.where(np.arange(steps) % 2, 0.42, -0.42), np.linspace(0.0, 22.92, steps)], axis=1)
    maze = maze_of("1-3")
    x_min, x_max, _, _ = free_extent(*maze)
    assert x_min <= -0.42 and x_max >= 0.42  # the maze's own box holds the walls' runners
    maps = rate_map(positions, np.ones(steps), rate_map_extent([maze], positions), bin_size=1.0)
    assert maps.occupancy.sum() == steps


def test_every_recorded_step_is_binned_and_the_page_says_so(corridor_run, tmp_path, capsys):
    with open_run(corridor_run) as recording:
        pooled = pool(recording, list(range(len(recording))))
    assert np.abs(pooled.positions[:, 0]).max() > 0.40  # the agent reached the wall
    maps = rate_map(pooled.positions, np.ones(pooled.steps), pooled.extent, bin_size=1.0)
    assert maps.occupancy.sum() == pooled.steps
    argv = [str(corridor_run), "--out", str(tmp_path / "c.html"), "--shuffles", "2", "--ports", "ca1.place_cells"]
    assert cells.main(argv) == 0
    assert f"{pooled.steps} of {pooled.steps} recorded steps binned in the rate maps" in capsys.readouterr().out


@pytest.fixture(scope="module")
def chance_units(arena) -> np.ndarray:
    """Units of the arena walk: a place field, the same field weak in noise, a unit that fires in 40 random
    bursts and is tuned to nothing (its spatial information is high by chance, before and after shuffling), noise."""
    pooled, _ = arena
    rng = np.random.default_rng(5)
    x, z = pooled.positions[:, 0], pooled.positions[:, 1]
    field = np.exp(-((x - 5) ** 2 + (z - 14) ** 2) / (2 * 2.0 ** 2))
    bursts = np.zeros(pooled.steps)
    for start in rng.choice(pooled.steps - 10, size=40, replace=False):
        bursts[start:start + 10] = 1.0
    noise = rng.random((pooled.steps, 30))
    return np.column_stack([field, 0.1 * field + noise[:, 0], bursts, noise[:, 1:]])


def test_each_unit_beats_its_own_shuffles_and_the_pooled_threshold_passes_a_unit_tuned_to_nothing(arena, chance_units):
    pooled, _ = arena
    own = measure_units("ca1.mixed", chance_units, pooled, Settings(shuffles=20), ["information"])
    shared = measure_units("ca1.mixed", chance_units, pooled, Settings(shuffles=20, threshold="pooled"),
                           ["information"])
    strong, weak, bursty = 0, 1, 2
    assert own.significant("information")[[strong, weak]].all() and not own.significant("information")[bursty]
    assert shared.significant("information")[bursty]  # its chance information beats what the calm units set
    assert not shared.significant("information")[weak]  # and the weak, reliable field falls below it
    assert own.significant("information")[3:].mean() < 0.15  # chance passes 1/21 of the untuned units
    z = own.effect("information")
    assert z[strong] > z[weak] > 3 and abs(z[bursty]) < 2 and abs(np.median(z[3:])) < 1
