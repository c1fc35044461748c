"""The episodic memory's measures: recall and value accuracy on synthetic data with known answers, and the cells
page's rows from a recorded training run, and from a recording made before the memory's traffic was recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis import cells
from analysis.episodic import (SHUFFLES, Recall, ValueAccuracy, discounted_returns, measure_memory, near_shares,
                               sign_test)
from brain.recording import RecordingError, open_run
from brain.recording.memory import GROUP
from recorded import trained_run

K = 8
AREA = 20.0  # metres


def random_places(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0, AREA, size=(n, K, 2))


def test_neighbours_written_at_the_query_share_one_and_random_neighbours_match_their_control():
    rng = np.random.default_rng(0)
    n = 2000
    query, maze = rng.uniform(0, AREA, size=(n, 2)), np.zeros(n, dtype=int)
    mazes = np.zeros((n, K), dtype=int)
    at_query = query[:, None, :] + rng.uniform(-0.3, 0.3, size=(n, K, 2))
    assert np.all(near_shares(query, maze, at_query, mazes, 1.0) == 1.0)
    shares = near_shares(query, maze, random_places(rng, n), mazes, 1.0)
    control = near_shares(query, maze, random_places(rng, n), mazes, 1.0)
    expected = np.pi / AREA ** 2  # a 1 m disc of a 20 m square, edges aside
    assert shares.mean() == pytest.approx(control.mean(), abs=0.003)
    assert shares.mean() == pytest.approx(expected, rel=0.25)
    episodes = np.repeat(np.arange(40), n // 40)
    chance = Recall(shares, control, episodes, 1.0)
    assert chance.effect() == pytest.approx(0.5, abs=0.03) and chance.by_episode()[2] > 0.01
    found = Recall(near_shares(query, maze, at_query, mazes, 1.0), control, episodes, 1.0)
    assert found.effect() > 0.95 and found.by_episode() == (40, 40, sign_test(40, 40))


def test_entries_of_another_maze_are_never_near_and_unknown_places_are_left_out():
    query, maze = np.zeros((1, 2)), np.array([1])
    positions = np.zeros((1, 4, 2))
    positions[0, 3] = np.nan
    shares = near_shares(query, maze, positions, np.array([[1, 1, 2, -1]]), 1.0)
    assert shares.tolist() == [2 / 3], "same maze and place: near; another maze: not; unknown: not counted"
    assert np.isnan(near_shares(query, maze, positions, np.full((1, 4), -1), 1.0)).all()


def test_discounted_returns_and_the_sign_test_have_their_known_values():
    np.testing.assert_allclose(discounted_returns(np.array([0.0, 0.0, 1.0]), 0.5), [0.25, 0.5, 1.0])
    np.testing.assert_allclose(discounted_returns(np.array([1.0, -1.0]), 1.0), [0.0, -1.0])
    assert sign_test(10, 10) == pytest.approx(2 / 1024) and sign_test(5, 10) == 1.0 and sign_test(0, 0) == 1.0


def test_a_read_out_that_tracks_the_returns_beats_every_shuffle_and_a_blind_one_does_not():
    rng = np.random.default_rng(1)
    returns = rng.normal(size=500)
    tracking = ValueAccuracy.measure(returns + rng.normal(scale=0.3, size=500), returns, returns, seed=0)
    assert tracking.r > 0.9 and tracking.p() == pytest.approx(1 / (1 + SHUFFLES))
    assert tracking.mae < 0.5 * tracking.shuffled_mae.mean() and tracking.steps == 500
    blind = ValueAccuracy.measure(rng.normal(size=500), returns, returns, seed=0)
    assert abs(blind.r) < 0.15 and blind.p() > 0.01
    assert blind.mae == pytest.approx(blind.shuffled_mae.mean(), rel=0.1)


@pytest.fixture(scope="module")
def training_run(tmp_path_factory) -> Path:
    """Four episodes of the tiny brain's A3C worker learning 1-2, every one recorded with its memory traffic."""
    return trained_run(tmp_path_factory.mktemp("episodic") / "tiny-1-2")


def test_the_page_measures_the_recorded_memory_and_fills_both_rows(training_run, plotted, tmp_path, capsys):
    with open_run(training_run) as recording:
        lookups = int(recording.index["length"].sum())
        written = sum(int((episode.memory("written_id") >= 0).sum()) for episode in recording)
        found = sum(int((episode.memory("neighbour_id") >= 0).any(1).sum()) for episode in recording)
        measured = measure_memory(recording, list(range(len(recording))), 1.0)
    assert written == lookups, "training writes every recorded step"
    assert 0 < found < lookups, "the first rollout found the memory empty, later ones did not"
    assert measured.lookups == lookups and measured.empty == lookups - found
    assert measured.recall.lookups + measured.unplaced == found and measured.value.steps == found
    out = tmp_path / "cells.html"
    assert cells.main([str(training_run), "--out", str(out), "--controls", "0", "--shuffles", "2"]) == 0
    assert "episodic memory: maze onedim: " in capsys.readouterr().out
    figures = plotted(out.read_text())
    items, _, rows = figures[0][0][0]["cells"]["values"]
    row = dict(zip(items, rows))
    assert row["episodic memory"].startswith("maze onedim: ")
    assert f"{measured.recall.lookups} lookups in 4 episodes; {lookups - found} lookups of an empty memory left " \
           f"out" in row["episodic memory"]
    assert f"over {found} steps" in row["episodic memory"] and "shuffled" in row["episodic memory"]
    assert f"({written} of {lookups} recorded training steps written (100%))" in row["replay"]
    assert "no offline reactivation: the brain has no offline dynamics" in row["replay"]
    [table] = [traces[0] for traces, layout in figures if layout["title"]["text"].startswith("Episodic memory")]
    assert table["cells"]["values"][0][0] == "recall: neighbours written within the radius"


def old_format(run_dir: Path, copy: Path) -> Path:
    """A copy of ``run_dir`` whose recording is as format version 2 wrote it: no memory traffic."""
    shutil.copytree(run_dir, copy)
    with h5py.File(copy / "recording.h5", "r+") as file:
        del file[GROUP]
        del file.attrs["memory_neighbours"]
        file.attrs["format_version"] = 2
    return copy


def test_a_recording_from_before_the_memory_traffic_reads_and_says_not_recorded(training_run, plotted, tmp_path):
    old = old_format(training_run, tmp_path / "old")
    with open_run(old) as recording:
        episode = recording.episode(0)
        assert episode.pose.shape == (episode.length, 3)
        with pytest.raises(RecordingError, match="no memory traffic 'value' recorded; this recording holds none"):
            episode.memory("value")
    out = tmp_path / "cells.html"
    assert cells.main([str(old), "--out", str(out), "--controls", "0", "--shuffles", "2"]) == 0
    figures = plotted(out.read_text())
    items, _, rows = figures[0][0][0]["cells"]["values"]
    row = dict(zip(items, rows))
    assert row["episodic memory"].startswith("not measured: the memory's traffic is not recorded in this run")
    assert "writes not counted: the memory's traffic is not recorded" in row["replay"]
    assert not [layout for _, layout in figures if layout["title"]["text"].startswith("Episodic memory")]
