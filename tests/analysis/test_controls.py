"""The untrained control of the cells page and the supervised ports: statistics with known answers, the replay
of recorded episodes, and a corridor where a random network's tuning must not count as learned."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from analysis import cells
from analysis.cellstats import Pooled, Settings, measure_units
from analysis.checklist import checklist_rows
from analysis.controls import Control, control_threshold, superiority
from analysis.mazemap import free_extent
from analysis.recordings import open_recording, recorded_connectome
from analysis.replay import replay, replayed_activity, untrained_brains
from analysis.supervised import match_teacher, teacher_steps
from brain.recording import open_run
from recorded import record_run
from regions.teachers import head_direction_teacher, place_cell_teacher
from test_cells import corridor_walk
from test_metrics import random_walk

SETTINGS = Settings(bin_size=1.0, smoothing=1.0, shuffles=20)


# --- the statistics, on numbers with a known answer ------------------------------------------------------


def test_superiority_is_the_chance_that_a_trained_value_beats_an_untrained_one():
    assert superiority(np.array([1.0, 2.0]), np.array([0.0, 3.0])) == 0.5
    assert superiority(np.array([5.0, 6.0]), np.array([0.0, 1.0, 2.0])) == 1.0
    assert superiority(np.array([1.0]), np.array([1.0])) == 0.5  # a tie counts half
    assert superiority(np.array([0.0, np.nan]), np.array([1.0, np.nan])) == 0.0  # NaN left out
    assert np.isnan(superiority(np.array([np.nan]), np.array([1.0])))


def test_the_control_threshold_is_a_percentile_of_the_untrained_units_pooled_over_seeds():
    seeds = [np.arange(0.0, 50.0), np.arange(50.0, 100.0), np.array([np.nan])]
    assert control_threshold(seeds, 95) == 95.0  # the next value up of 0 .. 99
    assert control_threshold(seeds, 50) == 50.0
    assert np.isnan(control_threshold([np.array([np.nan])], 95))


def corridor_units(positions: np.ndarray, headings: np.ndarray, units: int, seed: int) -> np.ndarray:
    """What a random network looking along a corridor does: each unit a tanh of random smooth functions of the
    position along it and of the heading (what it sees changes along the way and with the direction it faces)."""
    rng = np.random.default_rng(seed)
    z, north = positions[:, 1], np.cos(headings)
    drive = np.zeros((len(z), units))
    for _ in range(4):
        frequency, phase = rng.uniform(0.1, 0.6, units), rng.uniform(0, 2 * np.pi, units)
        drive += rng.normal(0, 0.6, units) * np.sin(frequency * z[:, None] + phase)
    drive += rng.normal(0, 0.5, units) * north[:, None] + rng.normal(0, 0.1, (len(z), units))
    return np.tanh(drive)


@pytest.fixture(scope="module")
def corridor() -> Pooled:
    positions, headings = corridor_walk(laps=6, length=20.0, step=0.25)
    return Pooled("onedim", [0], 0, positions, headings, (-0.5, 0.5, 0.0, 20.0))


def _measured(activity: np.ndarray, corridor: Pooled):
    return measure_units("ca3.state", activity - activity.min(axis=0), corridor, SETTINGS, ["information"])


def test_a_random_networks_corridor_tuning_does_not_count_and_planted_place_fields_do(corridor):
    z = corridor.positions[:, 1]
    random_units = corridor_units(corridor.positions, corridor.headings, 40, seed=100)
    fields = np.stack([np.exp(-((z - centre) ** 2) / (2 * 0.6 ** 2)) for centre in np.linspace(2, 18, 10)], axis=1)
    trained = _measured(np.column_stack([random_units, fields]), corridor)
    untrained = tuple(_measured(corridor_units(corridor.positions, corridor.headings, 40, seed=s), corridor)
                      for s in range(3))
    control = Control(trained, untrained, 95.0)
    random, planted = slice(0, 40), slice(40, 50)
    # The shuffles alone pass many times their 5 % of a random network's units: its tuning to the corridor is real,
    # just not learned.
    assert trained.significant("information")[random].mean() > 0.25
    assert control.untrained_fractions("information").min() > 0.25
    found = control.found("information")
    assert found[planted].all()  # learned fields beat the untrained brains' units
    assert found[random].mean() <= 0.1  # chance: at most 5 %
    assert np.all(control.held_out("information") <= 0.1)  # each untrained seed against the others: chance too
    assert control.effect("information") > 0.55  # a fifth of the units above all untrained ones, the rest alike
    assert superiority(trained.scores["information"].observed[planted],
                       np.concatenate([port.scores["information"].observed for port in untrained])) == 1.0


# --- supervised ports against their teachers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def arrow_walk() -> Pooled:
    """A random walk over the Arrow maze's box (the place teacher's fields lie in its free space)."""
    x_min, x_max, z_min, z_max = free_extent("arrow", "ArrowMaze")
    positions, headings = random_walk(20_000, seed=3, step=0.004)
    positions = np.column_stack([x_min + positions[:, 0] * (x_max - x_min), z_min + positions[:, 1] * (z_max - z_min)])
    return Pooled("arrow", [0], 0, positions, headings, (x_min, x_max, z_min, z_max))


def test_a_port_that_is_its_teachers_signal_matches_it_and_noise_does_not(arrow_walk):
    rng = np.random.default_rng(0)
    for teacher in (place_cell_teacher(256, sigma=1.0), head_direction_teacher(12)):  # as the bundled brains
        signal = teacher.signal(teacher_steps(arrow_walk, np.zeros(arrow_walk.steps))).numpy()[:, 0].astype(float)
        noise = rng.random(signal.shape)
        matches = {}
        for name, activity in (("taught", signal), ("noise", noise)):
            port = measure_units("x.y", activity, arrow_walk, Settings(bin_size=1.0, smoothing=0.5, shuffles=2),
                                 ["direction"])
            matches[name] = match_teacher(teacher, activity, port, arrow_walk, np.zeros(arrow_walk.steps)).summary()
        assert matches["taught"]["r"] > 0.99 and abs(matches["noise"]["r"]) < 0.05
        if "peak distance" in matches["taught"]:  # place: peaks within a bin of the fields' centres, in order
            assert matches["taught"]["peak distance"] < 1.0 and matches["taught"]["peak r"] > 0.95
            assert matches["noise"]["peak distance"] > 3.0 and abs(matches["noise"]["peak r"]) < 0.5
        else:  # head direction: 20-degree bins put the preferred direction within half a bin
            assert matches["taught"]["direction error"] < 10 and 45 < matches["noise"]["direction error"] < 135


def test_a_teacher_reading_what_a_recording_lacks_is_not_matched_and_says_why(arrow_walk):
    from regions.teachers import cue_teacher

    port = measure_units("pfc.cue", np.ones((arrow_walk.steps, 3)), arrow_walk, SETTINGS, [])
    match = match_teacher(cue_teacher(["red", "green", "blue"]), np.ones((arrow_walk.steps, 3)), port, arrow_walk,
                          np.zeros(arrow_walk.steps))
    assert match.summary() == {} and "cued_target" in match.note


# --- the replay of recorded episodes, and the page ----------------------------------------------------------


@pytest.fixture(scope="module")
def untrained_corridor(tmp_path_factory):
    """Three 150-step episodes of an untrained tiny brain (seed 8, outside the controls' 0 .. 2) on task 1-3."""
    return record_run(tmp_path_factory.mktemp("controls") / "tiny-1-3", task="1-3", episodes=3, steps=150, seed=8)


def test_a_replayed_episode_shows_a_brain_exactly_what_the_recorded_one_saw(untrained_corridor):
    """The same weights (seed 8, as recorded) shown the replay give the recorded activity: the same observations."""
    with open_run(untrained_corridor) as recording:
        brains = untrained_brains(recorded_connectome(recording), [8, 0])
        replayed = replay(recording, untrained_corridor, range(len(recording)), dict(brains[0].input_shapes))
        assert replayed.episodes == [0, 1, 2] and not replayed.failed
        same, other = replayed_activity(recording, replayed, brains, ["ca3.state"])
        recorded = np.concatenate([recording.episode(i).activity("ca3", "state") for i in range(3)])
    np.testing.assert_allclose(same["ca3.state"], recorded, atol=1e-6)
    assert np.abs(other["ca3.state"] - recorded).max() > 0.1  # another seed: another brain


def test_an_episode_off_its_recorded_path_is_left_out_and_the_page_says_so(untrained_corridor, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(untrained_corridor, run)
    with h5py.File(run / "recording.h5", "r+") as file:
        start = int(file["episodes"]["start"][1])
        file["steps/pose"][start + 20, 1] += 2.0  # episode 1 moved 2 m north at its step 20
    with open_run(run) as recording:
        replayed = replay(recording, run, range(3), {"rgb": (3, 32, 32), "depth": (1, 16, 16)})
    assert replayed.episodes == [0, 2] and "at step 20" in replayed.failed[1]
    out = tmp_path / "cells.html"
    assert cells.main([str(run), "--out", str(out), "--shuffles", "2", "--ports", "ca3.state"]) == 0
    printed = capsys.readouterr().out
    assert "2 of 3 episodes replayed along their recorded path" in printed and "episode 1: its replay left" in printed
    assert "maze onedim, 2 episodes" in printed  # the comparison pools the replayed episodes only


def test_without_a_replayable_episode_there_is_no_control_and_the_page_says_so(untrained_corridor, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(untrained_corridor, run)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("ticks_per_step: 10", "ticks_per_step: 5"))  # other time penalty
    assert "ticks_per_step: 5" in config.read_text()
    out = tmp_path / "cells.html"
    assert cells.main([str(run), "--out", str(out), "--shuffles", "2", "--ports", "ca3.state"]) == 0
    printed = capsys.readouterr().out
    assert "0 of 3 episodes replayed" in printed and "reward -0.005 after step 0, recorded -0.010" in printed
    assert "no control (no recorded episode could be replayed): units beating" in printed


@pytest.fixture(scope="module")
def corridor_findings(untrained_corridor):
    with open_recording(untrained_corridor) as recording:
        keys = ["ca3.state", "entorhinal.grid", "ca1.place_cells", "entorhinal.head_direction"]
        return cells.analyse(recording, untrained_corridor, keys, None, SETTINGS, controls=3)


def test_an_untrained_brain_in_a_corridor_finds_no_cells_once_the_control_is_applied(corridor_findings):
    """The background: shuffles pass a large share of an untrained brain's units in the corridor; the control
    leaves about the chance level (5 %) of them."""
    findings = corridor_findings
    assert set(findings.controls) == {"ca3.state", "entorhinal.grid", "ca1.place_cells", "entorhinal.head_direction"}
    assert set(findings.supervised) == {"ca1.place_cells", "entorhinal.head_direction"}
    ca3 = findings.controls["ca3.state"]
    assert ca3.trained.fraction("information") >= 0.5  # the shuffles alone would call most of them place cells
    assert ca3.untrained_fractions("information").min() >= 0.5  # and of the untrained brains' units too
    decisions = np.concatenate([findings.controls[key].found(measure) for key in ("ca3.state", "entorhinal.grid")
                                for measure in ("information", "direction")])
    assert decisions.mean() <= 0.1, decisions.mean()  # 128 decisions, chance at most 5 %
    assert 0.3 < ca3.effect("information") < 0.7  # no difference from the untrained brains


def test_supervised_ports_are_never_cells_found(corridor_findings):
    rows = {item: text for item, _, text in checklist_rows(corridor_findings)}
    found, supervised = rows["place cells"].split(" | supervised, not counted as cells: ")
    assert "ca3.state: " in found and "ca1.place_cells" not in found
    assert supervised.startswith("ca1.place_cells: matches its teacher 'place_cells' with unit-teacher r ")
    assert "(untrained " in supervised and "peak-to-centre distance" in supervised
    found, supervised = rows["head-direction cells"].split(" | supervised, not counted as cells: ")
    assert "entorhinal.head_direction" not in found and "preferred-direction error" in supervised
    assert rows["CA1"] == "ca1.place_cells: supervised (fitted to its teacher 'place_cells'), not counted"
    summary = cells.summary_figure(corridor_findings.ports, corridor_findings)
    kinds = dict(zip(*summary.data[0].cells.values[:3:2]))
    assert kinds["ca3.state"] == "could emerge" and kinds["ca1.place_cells"].startswith("supervised by its teacher")
    places = dict(zip(summary.data[0].cells.values[0], summary.data[0].cells.values[3]))
    assert places["ca1.place_cells"].startswith("supervised: not counted") and places["ca3.state"].startswith("found ")


def test_controls_0_says_there_is_no_control_and_nothing_is_a_finding(untrained_corridor, tmp_path, capsys, plotted):
    out = tmp_path / "cells.html"
    assert cells.main([str(untrained_corridor), "--out", str(out), "--shuffles", "2", "--ports", "ca3.state,ca1",
                       "--controls", "0"]) == 0
    assert "no control (--controls 0): units beating" in capsys.readouterr().out
    checklist = plotted(out.read_text())[0][0][0]
    row = dict(zip(checklist["cells"]["values"][0], checklist["cells"]["values"][2]))
    assert row["place cells"].startswith("no control (--controls 0), so no finding")
    assert "ca1.place_cells: matches its teacher" in row["place cells"]


def test_bad_controls_are_refused_by_argparse(untrained_corridor):
    with pytest.raises(SystemExit) as exit_:
        cells.main([str(untrained_corridor), "--controls", "-1"])
    assert exit_.value.code == 2


def test_the_control_benchmark_prints_shuffle_and_found_shares(untrained_corridor, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "cells_control.py"
    spec = importlib.util.spec_from_file_location("cells_control", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main([str(untrained_corridor), "--controls", "2", "--shuffles", "2", "--ports", "ca3.state"]) == 0
    printed = capsys.readouterr().out
    assert "without a control" in printed and "with 2 untrained brains" in printed
    assert "ca3.state / spatial information (bits): " in printed and " -> " in printed
