"""The perturbations of the trained brain: pattern completion and path integration on networks and codes whose answer is
known, CA3's wiring in real brains, and the cells page of a small recorded run with a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analysis import cells
from analysis.completion import (FILLS, LESIONED, LEVELS, RECURRENT, Network, ca3_wiring, completion_curves, kept_units,
                                 run_network, similarity)
from analysis.darkness import Darkness, decode_out_of_fold, drift, path_integration
from analysis.replay import ReplayedTrial
from analysis.report import chromium
from brain.engine import Brain
from brain.training.rundir import save_checkpoint
from recorded import TINY, record_run

# --- pattern completion, on networks whose answer is known ------------------------------------------------


def test_each_level_holds_exactly_its_share_of_units_drawn_anew_at_each_step():
    kept = kept_units(50, 40, LEVELS, seed=3)
    assert kept.shape == (50, 4, 40)
    np.testing.assert_array_equal((~kept).sum(-1), np.tile([0, 10, 20, 30], (50, 1)))
    assert len({tuple(row) for row in kept[:, 2]}) == 50  # another draw at every step
    np.testing.assert_array_equal(kept, kept_units(50, 40, LEVELS, seed=3))  # seeded


def test_similarity_is_pearsons_r_over_units_and_undefined_for_a_constant_pattern():
    a = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(similarity(a[:1], 2 * a[:1] + 5), [1.0])
    np.testing.assert_allclose(similarity(a[:1], -a[:1]), [-1.0])
    assert np.isnan(similarity(a[1:], a[:1])).all()


def episodes_of_patterns(patterns: np.ndarray, episodes: int, length: int, noise: float, seed: int):
    """Each episode shows one of ``patterns`` at every step, with a little noise: the cue ``[T, n]`` and the starts."""
    rng = np.random.default_rng(seed)
    shown = patterns[np.arange(episodes) % len(patterns)].repeat(length, 0)
    starts = np.tile(np.arange(length) == 0, episodes)
    return (shown + rng.normal(0, noise, shown.shape)).astype(np.float32), starts


@pytest.fixture(scope="module")
def patterns() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(4, 64))


def test_a_network_that_passes_its_cue_on_keeps_the_cues_similarity(patterns):
    cue, starts = episodes_of_patterns(patterns, 8, 20, 0.3, seed=1)
    identity = Network(lambda cues: {"x": cues}, lambda drive, previous: drive["x"], 64)
    for fill in FILLS:
        curves = completion_curves(identity, cue + 2.0, starts, fill=fill)  # units with an offset
        for condition in (RECURRENT, LESIONED):
            np.testing.assert_allclose(curves.output[condition], curves.cue, atol=1e-5)
            assert abs(curves.area(condition)) < 1e-5
        assert curves.curve()[0] == pytest.approx(1.0)
        if fill == "mean":
            assert 0.3 < curves.curve()[-1] < 0.7  # a quarter of the cue left
        else:
            assert curves.curve()[-1] < 0.3  # zeros far from units around 2: less like the cue than their mean
    with pytest.raises(ValueError, match="fill must be one of mean, zero"):
        completion_curves(identity, cue, starts, fill="noise")


def test_a_network_that_snaps_to_its_stored_patterns_completes_a_partial_cue(patterns):
    cue, starts = episodes_of_patterns(patterns, 8, 20, 0.3, seed=2)
    stored = torch.tensor(patterns, dtype=torch.float32)

    def snap(cues: torch.Tensor) -> torch.Tensor:
        centred = cues - cues.mean(1, keepdim=True)
        return stored[(centred @ (stored - stored.mean(1, keepdim=True)).T).argmax(1)]
    curves = completion_curves(Network(lambda cues: {"x": snap(cues)}, lambda drive, previous: drive["x"], 64), cue,
                               starts, (LESIONED,))
    output, given = curves.curve(LESIONED), curves.curve()
    assert np.all(output[1:] > given[1:] + 0.1)  # the output stays the stored pattern, the cue does not
    assert output[-1] > 0.85 and curves.area(LESIONED) > 0.1  # with a quarter of the cue it mostly picks right
    assert np.all(curves.episode_areas(LESIONED) > 0.05)  # in every episode


def test_collaterals_that_accumulate_a_held_cue_complete_it_and_cutting_them_does_not(patterns):
    """A leaky integrator sums the cue over steps, so units missing at one step are there at the next; with
    ``previous`` zeros it passes the cue on, scaled."""
    cue, starts = episodes_of_patterns(patterns, 8, 30, 0.05, seed=3)
    leaky = Network(lambda cues: {"x": 0.2 * cues}, lambda drive, previous: drive["x"] + 0.8 * previous, 64)
    curves = completion_curves(leaky, cue, starts)
    assert curves.area(RECURRENT) > 0.1
    assert abs(curves.area(LESIONED)) < 1e-5


# --- CA3 in real brains ---------------------------------------------------------------------------------


def _random_rollout(brain: Brain, steps: int = 40) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The brain's activity over random observations, two episodes, and where they start."""
    generator = torch.Generator().manual_seed(0)
    obs = {"rgb": torch.randint(0, 255, (steps, 1, 3, 32, 32), dtype=torch.uint8, generator=generator),
           "depth": torch.rand(steps, 1, 1, 16, 16, generator=generator),
           "odometry": torch.randn(steps, 1, 2, generator=generator), "reward": torch.zeros(steps, 1, 1)}
    resets = torch.zeros(steps, 1, dtype=torch.bool)
    resets[[0, steps // 2]] = True
    with torch.no_grad():
        activity = brain.eval().rollout(obs, brain.initial_state(1), resets).activity
    return {key: value[:, 0].flatten(1).numpy() for key, value in activity.items()}, resets[:, 0].numpy()


def test_the_probed_ca3_is_the_brains_own_and_cutting_its_collaterals_changes_it():
    torch.manual_seed(4)
    brain = Brain.from_connectome(TINY)
    activity, starts = _random_rollout(brain)
    wiring = ca3_wiring(brain)
    assert wiring.ports == (("ec", ("entorhinal.grid",)), ("visual", ("visual_cortex.features",)))
    assert wiring.conditions == (RECURRENT, LESIONED)
    states = run_network(wiring.network(brain), wiring.cue(activity)[:, None], starts, [True, False])
    np.testing.assert_allclose(states[:, 0, 0], activity["ca3.state"], atol=1e-5)  # the engine's CA3, step by step
    assert np.abs(states[:, 1, 0] - activity["ca3.state"]).max() > 0.05


def test_a_brain_without_collaterals_is_probed_as_it_is_and_a_lesioned_ca3_is_not():
    cut = ca3_wiring(Brain.from_connectome(TINY, lesions={"ca3.state -> ca3.previous": "remove"}))
    assert not cut.recurrent and cut.conditions == (LESIONED,)
    assert "lesioned" in ca3_wiring(Brain.from_connectome(TINY, lesions={"ca3": "silence"}))
    assert "removed" in ca3_wiring(Brain.from_connectome(TINY, lesions={"ca3": "remove"}))


# --- path integration, on codes whose answer is known -------------------------------------------------------


def test_the_dark_shows_zero_images_from_its_step_on_and_ends_the_episode_after_its_steps():
    darkness = Darkness(after=3, steps=2)
    trial = ReplayedTrial(0, "1-3", (0.0, 0.0, 0), None, 1, length=10)
    ports = {"rgb": np.full((3, 2, 2), 7, np.uint8), "depth": np.ones((1, 2, 2)), "odometry": np.ones(2)}
    assert darkness.view(trial, 2, ports) is ports
    dark = darkness.view(trial, 3, ports)
    assert not dark["rgb"].any() and not dark["depth"].any() and dark["odometry"] is ports["odometry"]
    assert darkness.view(trial, 5, ports) is None and darkness.shown(10) == 5
    assert darkness.shown(3) == 0  # too short to go dark: not shown at all


def _walks(episodes: int, length: int, seed: int) -> np.ndarray:
    steps = np.random.default_rng(seed).normal(0, 0.5, (episodes, length, 2))
    return np.cumsum(steps, 1).reshape(-1, 2)


def test_a_linear_code_of_position_is_decoded_out_of_fold():
    positions = _walks(6, 50, seed=5)
    code = positions @ np.random.default_rng(5).normal(size=(2, 16)) + 3.0
    groups = np.repeat(np.arange(6), 50)
    decoded, alpha = decode_out_of_fold(code, positions, groups, code, groups)
    assert np.abs(decoded - positions).max() < 0.05 and alpha == 0.01  # the least penalty reads it best
    with pytest.raises(ValueError, match="two episodes"):
        decode_out_of_fold(code[:50], positions[:50], groups[:50], code[:50], groups[:50])


def test_drift_is_the_slope_of_the_error_over_the_steps_in_the_dark():
    since = np.tile(np.arange(1, 11), 3)
    assert drift(0.2 * since + 1.0, since) == pytest.approx(0.2)
    assert np.isnan(drift(np.ones(3), np.ones(3)))


def test_a_perfect_integrator_does_not_drift_and_a_code_that_forgets_does():
    episodes, length, darkness = 8, 60, Darkness(after=20, steps=30)
    trials = [ReplayedTrial(i, "1-3", (0.0, 0.0, 0), None, 1, length) for i in range(episodes)]
    positions = _walks(episodes, length, seed=6)
    read = np.random.default_rng(6).normal(size=(2, 24))
    lit = {"grid": positions @ read}
    shown = np.concatenate([np.arange(i * length, i * length + 50) for i in range(episodes)])
    perfect = {"grid": lit["grid"][shown]}
    errors = np.random.default_rng(7).normal(0, 0.4, (episodes, 30, 2)).cumsum(1)  # a random walk from lights out
    lost = positions[shown].copy().reshape(episodes, 50, 2)
    lost[:, 20:] += errors
    forgetful = {"grid": lost.reshape(-1, 2) @ read}
    result = path_integration(trials, darkness, "grid", positions, [lit, lit], [perfect, forgetful])
    assert result.samples == episodes * 30 and result.episodes == episodes and result.since.max() == 30
    assert result.trained.dark.max() < 0.05 and abs(result.drift(result.trained.dark)) < 1e-3
    assert result.drift(result.untrained[0].dark) > 0.03  # the random walk's error grows as sqrt(steps)
    np.testing.assert_allclose(result.untrained[0].lit, result.trained.lit)  # same code with the lights on
    assert result.less_drift(result.trained.dark, [d.dark for d in result.untrained]) > 0.9
    assert result.drift(result.still) > 0.05  # the agent moves on while the control stays
    assert result.chance.mean() > result.trained.dark.mean()
    assert result.one_axis() is None  # a 2-D walk


def test_a_corridor_has_one_axis_to_decode():
    episodes, length = 4, 40
    trials = [ReplayedTrial(i, "1-3", (0.0, 0.0, 0), None, 1, length) for i in range(episodes)]
    positions = _walks(episodes, length, seed=8) * [0.01, 1.0]
    lit = {"grid": positions @ np.random.default_rng(8).normal(size=(2, 8))}
    shown = np.concatenate([np.arange(i * length, (i + 1) * length) for i in range(episodes)])
    result = path_integration(trials, Darkness(10, 30), "grid", positions, [lit], [{"grid": lit["grid"][shown]}])
    assert result.one_axis() == "z"


# --- the page ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """Three 150-step episodes of the tiny brain (seed 8) on task 1-3, with a checkpoint of that brain's weights."""
    run = record_run(tmp_path_factory.mktemp("perturbations") / "tiny-1-3", task="1-3", episodes=3, steps=150, seed=8)
    torch.manual_seed(8)
    weights = Brain.from_connectome(TINY).state_dict()
    save_checkpoint(run, {"brain": weights, "optimizer": {}, "memory": None, "steps": 450, "episodes": 3,
                          "totals": {}, "recent": [], "generations": {}, "rng": None})
    return run


def _rows(page: str, plotted) -> dict[str, str]:
    checklist = plotted(page)[0][0][0]["cells"]["values"]
    return dict(zip(checklist[0], checklist[2]))


def test_the_page_fills_both_rows_against_the_untrained_brains(trained_run, plotted, tmp_path, capsys):
    out = tmp_path / "cells.html"
    assert cells.main([str(trained_run), "--out", str(out), "--shuffles", "2", "--ports", "ca3.state",
                       "--controls", "2"]) == 0
    printed = capsys.readouterr().out
    page = out.read_text()
    rows = _rows(page, plotted)
    completion, path = rows["pattern completion"], rows["path integration"]
    assert completion.startswith("ca3: area between output and cue similarity over 25%, 50%, 75% of its cue's units "
                                  "missing (held at their mean; > 0: completion)")
    assert "Missing units set to zero instead, recurrent: trained " in completion
    assert "untrained" in completion and "P(trained episode > untrained)" in completion
    assert "450 steps of 3 episodes per level and brain" in completion
    assert path.startswith("entorhinal.grid decoded by ridge regression (folds by episode) after 20 lit steps")
    assert "90 dark steps of 3 episodes, decoders fit on 450 lit steps" in path
    assert "position varies along z only" in path  # the corridor
    assert "(trained brain: the checkpoint in" in path and "(450 steps trained)" in path
    assert f"pattern completion: {completion}" in printed and f"path integration: {path}" in printed
    titles = [layout["title"]["text"] for _, layout in plotted(page)]
    assert any(t.startswith("Pattern completion in ca3") for t in titles)
    assert any(t.startswith("Path integration in the dark") for t in titles)


def test_without_a_checkpoint_or_with_no_perturbations_the_rows_say_why(trained_run, recorded_run, plotted, tmp_path):
    out = tmp_path / "cells.html"
    argv = ["--out", str(out), "--shuffles", "2", "--ports", "ca3.state", "--controls", "1"]
    assert cells.main([str(trained_run), *argv, "--no-perturbations"]) == 0
    assert _rows(out.read_text(), plotted)["pattern completion"] == "not measured: --no-perturbations"
    assert cells.main([str(recorded_run), *argv]) == 0
    assert _rows(out.read_text(), plotted)["path integration"].startswith("not measured: no trained weights")
    assert cells.main([str(trained_run), *argv[:-1], "0"]) == 0
    assert "--controls 0" in _rows(out.read_text(), plotted)["pattern completion"]


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_no_text_of_the_perturbation_figures_covers_another_in_a_browser(trained_run, tmp_path):
    from browser import DRAWN, Browser

    out = tmp_path / "cells.html"
    assert cells.main([str(trained_run), "--out", str(out), "--shuffles", "2", "--ports", "ca3.state",
                       "--controls", "2"]) == 0
    with Browser(1400, 1300) as browser:
        browser.open(out, DRAWN)
        assert "Path integration in the dark" in browser.evaluate("document.body.textContent")
        assert browser.overlapping_texts() == []
