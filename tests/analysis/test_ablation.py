"""Ablation comparison from fake run directories of several connectomes."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import ablation
from analysis import report
from analysis.report import write_html
from analysis.runs import load_runs
from screenshot import chromium, screenshot

LEARNS = [False] * 50 + [True] * 100  # the last 100 reach 80 % at episode 130 (episodes 31..130)


def test_criterion_needs_a_full_window_and_is_reached_at_the_first_such_episode():
    success = np.array(LEARNS)
    assert ablation.first_reaching(success, 100, 0.8) == 129
    assert ablation.first_reaching(np.ones(99, dtype=bool), 100, 0.8) is None
    assert ablation.first_reaching(np.ones(100, dtype=bool), 100, 0.8) == 99


def test_summary_has_one_row_per_run_and_task_with_behaviour(make_run):
    runs = load_runs([make_run("full", {"1-1": LEARNS, "1-2": [True, False] * 60}, connectome="wba"),
                      make_run("lesion", {"1-1": [False] * 120}, connectome="wba_no_memory")])
    rows = ablation.summarise(runs, [ablation.behaviour(window=100, criterion=0.8)])
    assert [(r.run, r.connectome, r.trained, r.task) for r in rows] == [
        ("full", "wba", "1-1", "1-1"), ("full", "wba", "1-1", "1-2"), ("lesion", "wba_no_memory", "1-1", "1-1")]
    full, alternating, lesion = (row.values for row in rows)
    assert full["episodes"] == 150 and full["success"] == 1.0
    assert full["success_low"] == pytest.approx(0.963, abs=1e-3) and full["success_high"] == 1.0
    assert full["episodes_to_criterion"] == 130 and full["steps_to_criterion"] == 130 * 50
    assert alternating["success"] == 0.5 and alternating["episodes_to_criterion"] is None
    assert lesion["success"] == 0.0 and lesion["steps_to_criterion"] is None


def test_extra_measures_add_columns_to_the_table(make_run):
    runs = load_runs([make_run("full", {"1-1": [True] * 3})])
    extra = lambda run, task: {"grid_units": 0.25}
    rows = ablation.summarise(runs, [ablation.behaviour(100, 0.8), extra])
    header, body = ablation.table_cells(rows)
    assert header[-1] == "grid units" and body[0][-1] == "0.250"


def test_page_has_grouped_bars_with_intervals_and_the_table(make_run, plotted, tmp_path, capsys):
    full = make_run("full", {"1-1": LEARNS}, connectome="wba")
    lesion = make_run("lesion", {"1-1": [False, True] * 75}, connectome="wba_no_memory")  # as long as full
    out = tmp_path / "ablation.html"
    assert ablation.main([str(full), str(lesion), "--out", str(out)]) == 0
    (bar_traces, bar_layout), (table_traces, _) = plotted(out.read_text())
    success = [t for t in bar_traces if t["xaxis"] == "x"]
    assert [t["name"] for t in success] == ["wba (full)", "wba_no_memory (lesion)"]
    assert bar_layout["barmode"] == "group"
    assert success[1]["y"] == [0.5] and success[1]["error_y"]["arrayminus"][0] == pytest.approx(0.5 - 0.4038, abs=1e-4)
    steps = [t for t in bar_traces if t["xaxis"] == "x2"]
    assert steps[0]["y"] == [6500] and steps[1]["text"] == ["not reached"]
    table = table_traces[0]
    assert table["type"] == "table" and table["cells"]["values"][1] == ["wba", "wba_no_memory"]
    printed = capsys.readouterr().out
    assert "wba_no_memory" in printed and "steps to criterion" in printed


def test_runs_are_compared_at_the_shortest_runs_steps_unless_all_steps(make_run, plotted, tmp_path, capsys):
    full = make_run("full", {"1-1": LEARNS}, connectome="wba")  # 150 episodes of 50 steps: 7,500 steps
    short = make_run("short", {"1-1": [True] * 40}, connectome="wba_no_memory")  # 2,000 steps
    out = tmp_path / "ablation.html"
    assert ablation.main([str(full), str(short), "--out", str(out)]) == 0
    (bars, layout), (table, table_layout) = plotted(out.read_text())
    header, cells = table[0]["header"]["values"], table[0]["cells"]["values"]
    assert cells[header.index("steps compared (of trained)")] == ["2,000 of 7,500", "2,000 of 2,000"]
    assert cells[header.index("episodes")] == ["40", "40"] and cells[header.index("last episodes")] == ["40", "40"]
    success = [t for t in bars if t["xaxis"] == "x"]
    assert success[0]["y"] == [0.0] and success[1]["text"] == ["1.00, last 40"]  # the full run had not learned yet
    assert "first 2,000 environment steps" in layout["title"]["text"] and "2,000" in table_layout["title"]["text"]
    assert ablation.main([str(full), str(short), "--out", str(out), "--all-steps"]) == 0
    (bars, layout), (table, _) = plotted(out.read_text())
    assert table[0]["cells"]["values"][3] == ["7,500 of 7,500", "2,000 of 2,000"]
    assert [t for t in bars if t["xaxis"] == "x"][0]["y"] == [1.0] and "--all-steps" in layout["title"]["text"]


def test_a_missing_value_is_drawn_unlike_a_zero(make_run, plotted, tmp_path):
    never = make_run("never", {"1-1": [False] * 100}, connectome="wba_no_memory")
    out = tmp_path / "ablation.html"
    assert ablation.main([str(never), "--out", str(out), "--no-cells"]) == 0
    (bars, _), _ = plotted(out.read_text())
    [zero] = [t for t in bars if t["xaxis"] == "x"]  # success 0: no bar, the text "0", no hatching
    [missing] = [t for t in bars if t["xaxis"] == "x2"]  # steps to criterion: never reached
    assert zero["y"] == [0.0] and zero["text"] == ["0"] and zero["marker"]["pattern"]["shape"] == [""]
    assert missing["y"][0] > 0 and missing["text"] == ["not reached"]
    assert missing["marker"]["pattern"]["shape"] == [ablation.MISSING_PATTERN]
    assert missing["marker"]["color"] == ["rgba(0, 0, 0, 0)"]


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_the_table_is_visible_in_a_browser(make_run, tmp_path):
    """Rendered by headless Chromium, every row of the table shows its text (the old page drew none of it)."""
    runs = [make_run(name, {"1-1": [True, False] * 30}) for name in ("a", "b", "c")]
    rows = ablation.summarise(load_runs(runs), [ablation.behaviour(100, 0.8)])
    table = ablation.runs_table(rows)
    page = write_html([table], tmp_path / "table.html", "table")
    image = screenshot(page, tmp_path / "table.png", 1400, 400).astype(int)
    top, height = report.TITLE_PX, int(table.layout.height)
    assert text_lines(image[top:height]) >= 1 + len(rows)  # the header (one or more lines) and each row
    last_text = np.flatnonzero((image[:height].max(axis=2) < 130).sum(axis=1) > 2)[-1]
    assert last_text < height - report.BOTTOM_PX  # the last row whole, inside the figure
    assert text_lines(image[height:]) == 0  # nothing cut off below the figure


def text_lines(image: np.ndarray) -> int:
    """Lines of dark text in a rendered table: runs of pixel rows where some pixels are near black."""
    dark = (image.max(axis=2) < 130).sum(axis=1) > 2
    starts = np.flatnonzero(dark[1:] & ~dark[:-1])
    return len(starts) + int(dark[0])


def test_run_without_a_connectome_file_is_a_clear_error(make_run, tmp_path, capsys):
    run = make_run("full", {"1-1": [True]})
    (run / "connectome.yaml").unlink()
    assert ablation.main([str(run), "--out", str(tmp_path / "a.html")]) == 2
    error = capsys.readouterr().err
    assert "no connectome.yaml" in error and "Traceback" not in error


@pytest.mark.parametrize("flag", [["--criterion", "1.5"], ["--criterion", "x"], ["--window", "-3"]])
def test_bad_flags_are_refused_by_argparse(flag, make_run):
    with pytest.raises(SystemExit) as exit_:
        ablation.main([str(make_run("full", {"1-1": [True]})), *flag])
    assert exit_.value.code == 2


def test_unreadable_config_is_a_clear_error(make_run, tmp_path, capsys):
    run = make_run("full", {"1-1": [True]})
    (run / "config.yaml").write_text("task: [unclosed\n")
    assert ablation.main([str(run), "--out", str(tmp_path / "a.html")]) == 2
    assert "config.yaml" in capsys.readouterr().err


def test_runs_with_recordings_are_compared_at_the_cell_level(recorded_run, lesioned_run, make_run, plotted, tmp_path,
                                                            capsys):
    fake = make_run("fake", {"3-1": [True, False]})  # 100 steps: before the recorded runs' first episode ended
    out = tmp_path / "ablation.html"
    assert ablation.main([str(recorded_run), str(fake), "--out", str(out)]) == 2
    assert "no episode had ended by step 100" in capsys.readouterr().err
    assert ablation.main([str(recorded_run), str(lesioned_run), str(fake), "--out", str(out), "--cell-shuffles",
                          "3", "--all-steps"]) == 0
    (bar_traces, layout), (table_traces, _) = plotted(out.read_text())
    header = table_traces[0]["header"]["values"]
    assert header[-3:] == ["place cells", "grid cells", "head direction cells"]
    place = table_traces[0]["cells"]["values"][header.index("place cells")]
    assert place[0] != "-" and place[1] != "-" and place[2] == "-"  # the fake run has no recording
    connectomes = table_traces[0]["cells"]["values"][header.index("connectome")]
    assert connectomes[:2] == ["tiny", "tiny, hippocampus=remove, amygdala=silence, entorhinal=0.5, "
                                       "ca3.state -> ca3.previous=remove"]  # the lesioned brain says so
    titles = [a["text"] for a in layout["annotations"]]
    assert any(t.startswith("share of place cells: ca1.place_cells") for t in titles)
    assert not any(t.startswith("share of grid cells") for t in titles)  # no run has a gridness in the cross maze
    assert "place cells" in capsys.readouterr().out


def test_no_cells_leaves_the_cell_measure_out(recorded_run, plotted, tmp_path):
    out = tmp_path / "ablation.html"
    assert ablation.main([str(recorded_run), "--out", str(out), "--no-cells"]) == 0
    (_, _), (table_traces, _) = plotted(out.read_text())
    assert "place cells" not in table_traces[0]["header"]["values"]
