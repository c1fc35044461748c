"""Lesions at evaluation: each condition against the intact brain of the same runs, the study file, and the
ablation page's section drawn from it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis import ablation
from analysis.lesions import (Outcome, ProbeOutcome, Study, StudyRun, compare, compare_probes, probe_table,
                              read_study, success_table, write_study)
from analysis.report import AnalysisError

OUTCOMES = (Outcome("a", "1-3", "intact", 80, 100), Outcome("a", "1-3", "ca3", 40, 100),
            Outcome("b", "1-3", "intact", 20, 100), Outcome("b", "1-3", "ca3", 10, 100),
            Outcome("b", "1-3", "amygdala", 20, 100))  # run a trained with amygdala lesioned: not silenced again


def probe_trials(run: str, condition: str, target: float, episodes: int = 40) -> ProbeOutcome:
    """Probe trials whose platform-quadrant share alternates around ``target`` (the rest spread evenly)."""
    shares = [(t, (1 - t) / 3, (1 - t) / 3, (1 - t) / 3) for t in np.resize([target - 0.1, target + 0.1], episodes)]
    crossings = [(2, 0, 1, 0) if target > 0.5 else (0, 1, 0, 0)] * episodes
    return ProbeOutcome(run, "watermaze", condition, tuple(shares), tuple(crossings))


PROBES = (probe_trials("a", "intact", 0.6), probe_trials("a", "hippocampus", 0.25))


def study(probes=PROBES) -> Study:
    return Study("python benchmarks/lesions.py a b --tasks 1-3", {"episodes": 100, "greedy": False, "seed": 12345,
                                                                  "envs": 1, "tasks": ["1-3"], "probe": bool(probes)},
                 (StudyRun("a", "wba", {"amygdala": "silence"}), StudyRun("b", "wba")), OUTCOMES, probes)


def test_each_condition_is_compared_with_the_intact_brain_of_the_same_runs():
    intact, ca3, amygdala = compare(OUTCOMES, "1-3")
    assert (intact.condition, intact.successes, intact.episodes, intact.difference) == ("intact", 100, 200, None)
    assert ca3.rate == 0.25 and ca3.interval == pytest.approx((0.1951, 0.3143), abs=1e-4)  # Wilson, 50/200
    assert ca3.difference == pytest.approx((-0.25, -0.34, -0.16), abs=0.005)  # Newcombe, against 100/200
    assert ca3.per_run == ("40/100", "10/100") and amygdala.per_run == ("-", "20/100")
    assert amygdala.difference[0] == 0.0  # against run b's intact 20/100 alone, not the pooled 50 %
    header, rows = success_table([intact, ca3, amygdala])
    assert header[-1] == "per run" and rows[1] == ["ca3 silenced", "50/200", "25% [20%, 31%]", "-25% [-34%, -16%]",
                                                   "40/100 10/100"]
    assert rows[0][3] == "control"
    _, [row] = success_table(compare([OUTCOMES[0]], "1-3"))
    assert len(row) == 4  # one run: no per-run column


def test_a_condition_without_its_intact_brain_is_refused():
    with pytest.raises(AnalysisError, match="run b has ca3 but no intact brain"):
        compare([Outcome("a", "1-3", "intact", 1, 2), Outcome("b", "1-3", "ca3", 1, 2)], "1-3")


def test_probe_trials_compare_the_platform_quadrant_with_the_intact_brain():
    intact, hippocampus = compare_probes(PROBES, "watermaze")
    assert intact.summary.target_share == pytest.approx(0.6) and intact.difference is None
    assert intact.summary.target_interval == pytest.approx((0.57, 0.63), abs=0.011)  # 40 trials of 0.5 or 0.7
    assert intact.summary.crossings == 2.0 and intact.summary.other_crossings == pytest.approx(1 / 3)
    assert hippocampus.difference[0] == pytest.approx(-0.35)
    assert hippocampus.difference[1] < -0.3 and hippocampus.difference[2] > -0.4
    header, rows = probe_table([intact, hippocampus])
    assert rows[1][:2] == ["hippocampus silenced", "40"] and rows[1][2].startswith("25% [")
    assert rows[0][4] == "2.00 / 0.33 (+1.67 [+1.67, +1.67])"  # every trial alike: no spread
    assert rows[1][4] == "0.00 / 0.33 (-0.33 [-0.33, -0.33])" and header[2].endswith("chance 25%")


def test_a_study_survives_its_file(tmp_path):
    path = write_study(study(), tmp_path / "lesions.json")
    assert read_study(path) == study()


@pytest.mark.parametrize("edit, message", [
    (lambda data: "{not json", "not a lesion study"),
    (lambda data: {**data, "command": None}, "a lesion study has a 'command' and 'settings'"),
    (lambda data: {**data, "outcomes": [{**data["outcomes"][0], "successes": "80"}]},
     "outcomes\\[0\\] has no valid 'successes' \\(a int\\)"),
    (lambda data: {**data, "outcomes": [{**data["outcomes"][0], "successes": 101}]}, "0 <= successes <= episodes"),
    (lambda data: {**data, "probes": [{**data["probes"][0], "crossings": [[1, 2]]}]}, "probes\\[0\\]: probe trials need"),
])
def test_a_broken_study_file_names_the_field_and_the_fix(tmp_path, edit, message):
    path = write_study(study(), tmp_path / "lesions.json")
    changed = edit(json.loads(path.read_text()))
    path.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(AnalysisError, match=message) as error:
        read_study(path)
    assert str(path) in str(error.value) and "python benchmarks/lesions.py" in str(error.value)


def test_the_ablation_page_shows_the_lesions_at_evaluation(make_run, plotted, tmp_path, capsys):
    run = make_run("a", {"1-3": [True] * 100})
    write_study(study(), run / "lesions.json")
    other = make_run("b", {"1-3": [False] * 100})  # no study: nothing more on the page
    assert len(ablation.studies([run, other, run])) == 1  # a study is drawn once
    out = tmp_path / "ablation.html"
    assert ablation.main([str(run), str(other), "--out", str(out), "--no-cells"]) == 0
    figures = plotted(out.read_text())
    assert len(figures) == 2 + 4  # the page's bars and table; per task a figure and a table; the probe's alike
    (success, layout), (table, _), (probe, probe_layout), (probe_table_, _) = figures[2:]
    rates, differences = success
    assert rates["x"] == ["intact", "ca3", "amygdala"] and rates["y"] == [0.5, 0.25, 0.2]
    assert rates["error_y"]["array"][1] == pytest.approx(0.3143 - 0.25, abs=1e-4)
    assert rates["marker"]["color"][0] == ablation.CONTROL_COLOUR
    assert layout["xaxis"]["ticktext"][0] == "intact<br>100/200"  # the counts under the name
    assert differences["x"] == ["ca3", "amygdala"] and differences["y"] == [-0.25, 0.0]
    assert differences["error_y"]["arrayminus"][0] == pytest.approx(0.09, abs=0.005)
    assert "Lesions at evaluation: task 1-3, wba, 2 run(s)" in layout["title"]["text"]
    assert "100 episodes per condition and run" in layout["title"]["text"]
    assert table[0]["cells"]["values"][0] == ["intact", "ca3 silenced", "amygdala silenced"]
    assert probe[0]["y"] == pytest.approx([0.6, 0.25]) and probe[1]["x"] == ["hippocampus"]
    assert [shape["y0"] for shape in probe_layout["shapes"] if shape.get("line", {}).get("dash") == "dash"] == [0.25]
    assert "probe trials" in probe_layout["title"]["text"]
    assert probe_table_[0]["header"]["values"][2] == "platform quadrant [bootstrap 95 %], chance 25%"
    printed = capsys.readouterr().out
    assert "lesions at evaluation, task 1-3" in printed and "ca3 silenced" in printed


def test_a_broken_study_makes_the_page_exit_2(make_run, tmp_path, capsys):
    run = make_run("a", {"1-3": [True] * 10})
    (run / "lesions.json").write_text("[]")
    assert ablation.main([str(run), "--out", str(tmp_path / "a.html"), "--no-cells"]) == 2
    error = capsys.readouterr().err
    assert "lesions.json: a lesion study has a 'command'" in error and "Traceback" not in error
