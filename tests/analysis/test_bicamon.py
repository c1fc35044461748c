"""The BiCAMON-style page from small real recordings: regions, edges, lesions, animation, errors, a screenshot."""

from __future__ import annotations

import csv
import numpy as np
import pytest
from plotly.colors import sample_colorscale, unlabel_rgb

from analysis import bicamon
from analysis.anatomy import ALLEN_CCF, View, outline_2d, region_positions, silhouettes, space_of
from brain.connectome import Connectome
from brain.connectome.yamlmarks import parse_yaml
from brain.recording import open_run
from conftest import LESIONS, animation_frames, decoded
from recorded import empty_recording
from screenshot import chromium, read_png, screenshot
from tasks.png import write_png


def scaled_magnitude(episode, region: str) -> np.ndarray:
    """The page's region activity, computed here from the recording: mean |a| over the ports, min to max."""
    values = np.abs(np.concatenate(list(episode.region(region).values()), axis=1)).mean(axis=1)
    return (values - values.min()) / np.ptp(values)


def region_traces(traces: list[dict]) -> list[dict]:
    return [t for t in traces if t.get("name") == "regions"]


def hovering(traces: list[dict], label: str) -> list[dict]:
    """The traces that show ``label`` on hover (edges share traces, so their hover text is per point)."""
    return [t for t in traces if label in (t.get("hovertext") if isinstance(t.get("hovertext"), list)
                                           else [t.get("hovertext")])]


def test_page_animates_region_activity_through_the_last_episode(recorded_run, plotted, tmp_path, capsys):
    out = tmp_path / "bicamon.html"
    assert bicamon.main([str(recorded_run), "--out", str(out), "--max-frames", "30"]) == 0
    assert "episode 2" in capsys.readouterr().out
    page = out.read_text()
    [(traces, layout)] = plotted(page)
    frames = animation_frames(page)
    with open_run(recorded_run) as recording:
        episode = recording.episode(-1)
        expected = scaled_magnitude(episode, "ca1")
        names = list(recording.regions)
    steps = bicamon.frame_steps(150, 30)
    assert len(frames) == 30 and [f["name"] for f in frames] == [str(s) for s in steps]
    assert len(layout["sliders"][0]["steps"]) == 30 and layout["updatemenus"][0]["buttons"][0]["label"] == "play"
    views = region_traces(traces)
    assert [t["type"] for t in views] == ["scatter"] * 3 + ["scatter3d"]  # sagittal, horizontal, coronal, 3-D
    column = views[0]["text"].index("CA1")  # the connectome's short label
    index = [i for i, t in enumerate(traces) if t.get("name") == "regions"][0]
    frame = frames[7]
    colours = frame["data"][frame["traces"].index(index)]["marker"]["color"]
    assert colours[column] == pytest.approx(expected[steps[7]], abs=1e-3)
    heatmap = next(t for t in traces if t["type"] == "heatmap")
    rows = layout[heatmap["yaxis"].replace("y", "yaxis")]["ticktext"]
    assert sorted(rows) == sorted(names)
    np.testing.assert_allclose(decoded(heatmap["z"])[rows.index("ca1")], expected, atol=1e-3)
    assert len(out.read_bytes()) < 1e6 and (out.parent / "plotly.min.js").is_file()


def test_regions_sit_at_their_connectome_positions_in_each_view(recorded_run, plotted, tmp_path):
    out = tmp_path / "bicamon.html"
    h5 = recorded_run / "recording.h5"  # a recording file works as well as its run directory
    assert bicamon.main([str(h5), "--out", str(out), "--regions", "ca1,prefrontal", "--episode", "0"]) == 0
    [(traces, layout)] = plotted(out.read_text())
    sagittal, horizontal, coronal, three_d = region_traces(traces)
    assert sagittal["text"] == ["CA1", "PL"] and sagittal["hovertext"] == ["CA1: ca1", "PL: prefrontal"]
    ca1, prefrontal = (7514, 2452, 7392), (2980, 3120, 5850)  # Allen CCFv3 (AP, DV, LR) from wba.yaml
    at = lambda trace, axis: decoded(trace[axis]).tolist()
    assert (at(sagittal, "x"), at(sagittal, "y")) == ([ca1[0], prefrontal[0]], [ca1[1], prefrontal[1]])
    assert (at(coronal, "x"), at(coronal, "y")) == ([ca1[2], prefrontal[2]], [ca1[1], prefrontal[1]])
    assert at(horizontal, "y") == [ca1[2], prefrontal[2]]
    assert at(three_d, "z") == [ca1[1], prefrontal[1]] and layout["scene"]["zaxis"]["autorange"] == "reversed"
    assert layout["yaxis"]["range"][0] > layout["yaxis"]["range"][1]  # dorsal up: DV grows downwards
    assert "episode 0" in layout["title"]["text"]
    assert len(hovering(traces, "ca1.code -> prefrontal.state")) == 4  # one per view


def test_edge_strength_follows_the_connectome_weight_and_traffic_its_source_port(recorded_run):
    with open_run(recorded_run) as recording:
        connectome = bicamon.recorded_connectome(recording)
        episode = recording.episode(0)
        nodes, _ = bicamon.build_nodes(recording, episode, connectome, list(connectome.regions))
        edges = {edge.label.split(",")[0]: edge for edge in bicamon.build_edges(recording, episode, connectome, nodes)}
        source = np.abs(episode.activity("ca3", "state")).mean(axis=1)
    assert edges["ca3.state -> ca1.ca3"].strength == 1.0  # weight 2.3, the largest
    assert edges["entorhinal.grid -> ca3.ec"].strength == pytest.approx(np.sqrt(0.14 / 2.3))
    assert edges["ca1.code -> prefrontal.state"].strength == bicamon.DEFAULT_STRENGTH
    np.testing.assert_allclose(edges["ca3.state -> ca1.ca3"].traffic, source / source.max(), rtol=1e-5)
    assert not any(label.startswith("env.") for label in edges)


def test_each_frame_draws_an_edge_at_its_level_in_one_of_a_few_shared_traces(recorded_run):
    """A 2-D view draws its active edges as EDGE_LEVELS traces, whatever the connectome (a trace each made a frame
    cost twice as much: plotly re-reads every trace per frame); each frame puts an edge in the trace of its level."""
    with open_run(recorded_run) as recording:
        episode = recording.episode(0)
        figure = bicamon.bicamon_figure(recording, episode, max_frames=30)
        connectome = bicamon.recorded_connectome(recording)
        nodes, _ = bicamon.build_nodes(recording, episode, connectome, list(connectome.regions))
        edges = {e.label.split(",")[0]: e for e in bicamon.build_edges(recording, episode, connectome, nodes)}
    assert len(edges) == 16
    sagittal = next(t for t in figure.data if t.name == "regions")
    where = {label: (x, y) for label, x, y in zip(sagittal.text, sagittal.x, sagittal.y)}
    colour = f"rgb({bicamon.EDGE_RGB})"
    levels = [i for i, t in enumerate(figure.data) if t.type == "scatter" and t.xaxis == "x" and t.line.color == colour]
    assert len(levels) == bicamon.EDGE_LEVELS
    widths = [figure.data[i].line.width for i in levels]
    assert widths == sorted(widths) and widths[0] == bicamon.EDGE_WIDTH[0] and widths[-1] == bicamon.EDGE_WIDTH[1]
    edge, (ca3, ca1) = edges["ca3.state -> ca1.ca3"], (where["CA3"], where["CA1"])
    seen = set()
    for frame in figure.frames:
        assert len(frame.traces) == 3 * bicamon.EDGE_LEVELS + 3 + 4  # levels and regions per view; maze; cursors
        drawn = {index: data for index, data in zip(frame.traces, frame.data)}
        holding = [level for level, index in enumerate(levels)
                   if any(drawn[index].x[i:i + 2] == (ca3[0], ca1[0]) and drawn[index].y[i:i + 2] == (ca3[1], ca1[1])
                          for i in range(len(drawn[index].x) - 1))]
        expected = bicamon.edge_level(edge.traffic[int(frame.name)], edge.strength)
        assert holding == [expected], f"step {frame.name}"
        seen.add(expected)
    assert len(seen) > 1, "the edge changes level during the episode"


def test_lesions_are_drawn_as_the_connectome_states_them(lesioned_run, plotted, tmp_path):
    out = tmp_path / "bicamon.html"
    assert bicamon.main([str(lesioned_run), "--out", str(out)]) == 0
    [(traces, _)] = plotted(out.read_text())
    removed = next(t for t in traces if t.get("name") == "removed")
    silenced = next(t for t in traces if t.get("name") == "silenced")
    assert removed["text"] == ["DG (removed)"] and removed["marker"]["symbol"] == "x"
    assert silenced["text"] == ["BLA (silenced)"] and silenced["marker"]["symbol"] == "circle-open"
    assert "MEC (50% silenced)" in region_traces(traces)[0]["text"]
    style = {label.split(",")[0]: t["line"] for t in traces if t.get("mode") == "lines" and
             isinstance(t.get("hovertext"), list) for label in t["hovertext"] if "->" in label}
    assert style["ca1.code -> hippocampus.key"]["dash"] == "dot"  # into a removed region
    assert style["ca3.state -> ca3.previous"]["dash"] == "dot"  # a removed connection
    assert style["amygdala.valence -> prefrontal.valence"]["dash"] == "dash"  # from a silenced region
    assert "dash" not in style["ca3.state -> ca1.ca3"]
    assert set(LESIONS) <= set(bicamon.recorded_connectome(open_run(lesioned_run)).lesions)


def test_a_space_not_known_here_and_missing_positions_still_draw():
    connectome = Connectome.from_tree(parse_yaml(
        "name: x\nspace: my_mm\ninputs: {rgb: [3, 8, 8]}\npolicy: a.logits\nvalue: b.value\nregions:\n"
        "  a: {type: prefrontal, position: [0, 0, 0]}\n  b: {type: basal_ganglia, position: [10, 20, 0]}\n"
        "  c: {type: ca3}\n", "x.yaml"))
    positions, unplaced = region_positions(connectome, ["a", "b", "c"])
    assert unplaced == ["c"] and positions.shape == (3, 3) and np.isfinite(positions).all()
    space, order = space_of(connectome, positions)
    assert space.name == "my_mm" and [v.name for v in space.views][0] == "axis 1 - axis 2" and order == (0, 1, 2)
    inside = ((positions - space.centre) / space.radii) ** 2
    assert (inside.sum(axis=1) <= 1).all()  # the outline holds every region


def test_long_episodes_are_subsampled_to_the_frame_budget():
    steps = bicamon.frame_steps(1000, 200)
    assert len(steps) == 200 and steps[0] == 0 and steps[-1] == 999
    np.testing.assert_array_equal(bicamon.frame_steps(5, 200), np.arange(5))


def test_bad_input_gives_one_line_and_exit_2(recorded_run, make_run, tmp_path, capsys):
    out = tmp_path / "b.html"
    cases = [
        ([str(make_run("no-recording", {"1-1": [True]}))], "no recording.h5"),
        ([str(recorded_run), "--regions", "ca1,cortex"], "unknown region 'cortex'"),
        ([str(empty_recording(tmp_path / "empty"))], "no finished episode"),
        ([str(recorded_run), "--episode", "99"], "no episode at position 99"),
        ([str(tmp_path / "missing.h5")], "no such file"),
    ]
    for argv, message in cases:
        assert bicamon.main([*argv, "--out", str(out)]) == 2, message
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error and error.count("\n") == 1
    assert not out.exists()


def test_png_reader_reads_what_the_simulator_writes(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    write_png(tmp_path / "x.png", image)
    np.testing.assert_array_equal(read_png(tmp_path / "x.png"), image)


@pytest.mark.skipif(chromium() is None, reason="needs headless Chromium (Debian: apt-get install -y chromium)")
def test_screenshot_shows_region_markers_in_their_activity_colours(lesioned_run, tmp_path):
    out = tmp_path / "bicamon.html"
    assert bicamon.main([str(lesioned_run), "--out", str(out), "--max-frames", "20"]) == 0
    image = screenshot(out, tmp_path / "bicamon.png", bicamon.WIDTH, bicamon.HEIGHT).astype(int)
    band = image[130:500]  # the sagittal, horizontal and coronal views; the heatmap lies far below
    with open_run(lesioned_run) as recording:
        episode = recording.episode(0)
        live = [name for name in recording.regions if name != "amygdala"]  # amygdala is silenced: grey
        values = [scaled_magnitude(episode, name)[0] for name in live]

    def pixels(rgb: tuple[float, ...], tolerance: int) -> int:
        return int((np.abs(band - np.array(rgb)) <= tolerance).all(axis=-1).sum())

    for name, value in zip(live, values):
        colour = unlabel_rgb(sample_colorscale(bicamon.COLOURSCALE, [value])[0])
        assert pixels(colour, 6) >= 40, f"{name}: no marker of colour {colour} in the brain views"
    assert pixels(unlabel_rgb(bicamon.LESIONED), 3) >= 30  # the removed and silenced regions, grey
    write_png(tmp_path / "band.png", band.astype(np.uint8))


def test_value_reward_and_td_error_keep_their_colours(recorded_run, lesioned_run, plotted, tmp_path):
    """Whatever the connectome draws before them (here: lesions add traces), the critic's curves keep one colour each."""
    colours = []
    for run in (recorded_run, lesioned_run):
        out = tmp_path / f"{run.name}.html"
        assert bicamon.main([str(run), "--out", str(out), "--max-frames", "5"]) == 0
        [(traces, _)] = plotted(out.read_text())
        colours.append({t["name"]: t["line"]["color"] for t in traces if t.get("name") in bicamon.BEHAVIOUR_COLOURS})
    assert colours[0] == colours[1] == bicamon.BEHAVIOUR_COLOURS


def test_region_labels_are_short_and_do_not_overlap_in_any_view(recorded_run):
    """The wba brain's labels, placed in each 2-D view at the page's scale: no label box covers another or a marker.
    The 3-D view, whose angle the reader chooses, names regions on hover only."""
    with open_run(recorded_run) as recording:
        figure = bicamon.bicamon_figure(recording, recording.episode(0), max_frames=2)
    views = [t for t in figure.data if t.name == "regions" and t.type == "scatter"]
    assert list(views[0].text) == ["VISp", "MEC", "CA3", "CA1", "DG", "PL", "CP", "BLA"]
    three_d = next(t for t in figure.data if t.name == "regions" and t.type == "scatter3d")
    assert three_d.mode == "markers" and three_d.text is None  # turned by hand: names on hover, never piled up
    assert list(three_d.hovertext)[:2] == ["VISp: visual_cortex", "MEC: entorhinal"]
    space = ALLEN_CCF
    for col, (view, trace) in enumerate(zip(space.views, views), start=1):
        points = np.stack([trace.x, trace.y], axis=1)
        screen = bicamon._screen(points, view, bicamon._view_scale(figure, 1, col, space, view))
        sizes = list(trace.marker.size)
        places, boxes = bicamon.label_places(screen, list(trace.text), sizes)
        assert places == list(trace.textposition), view.name
        markers = bicamon.marker_boxes(screen, sizes)
        for index, box in enumerate(boxes):
            others = np.vstack([np.delete(boxes, index, axis=0), np.delete(markers, index, axis=0)])
            assert bicamon._overlap(box, others) == 0, f"{view.name}: label {trace.text[index]} overlaps"


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_no_text_of_the_page_covers_another_in_a_browser(recorded_run, tmp_path):
    """Rendered by headless Chromium: region labels, titles, ticks and the colour bar's title stay apart."""
    from browser import DRAWN, Browser

    out = tmp_path / "bicamon.html"
    assert bicamon.main([str(recorded_run), "--out", str(out), "--max-frames", "5"]) == 0
    with Browser(bicamon.WIDTH, bicamon.HEIGHT) as browser:
        browser.open(out, DRAWN)
        labels = browser.evaluate("[...document.querySelectorAll('.textpoint')].map(t => t.textContent)")
        assert labels.count("CA1") == 3  # the region labels of the three 2-D views are among the texts checked
        assert browser.overlapping_texts() == []


def inside(polygon: np.ndarray, point: np.ndarray) -> bool:
    """Ray casting: whether ``point`` lies inside the closed ``polygon`` ``[n, 2]``."""
    (x, y), crossings = point, 0
    for (x0, y0), (x1, y1) in zip(polygon[:-1], polygon[1:]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            crossings += 1
    return crossings % 2 == 1


def test_each_2d_view_draws_the_shipped_mouse_brain_silhouette_around_every_region(recorded_run):
    with open_run(recorded_run) as recording:
        figure = bicamon.bicamon_figure(recording, recording.episode(0), max_frames=2)
    outlines = [t for t in figure.data if t.type == "scatter" and t.fill == "toself"]
    views = [t for t in figure.data if t.name == "regions" and t.type == "scatter"]
    shipped = silhouettes()
    for view, outline, regions in zip(ALLEN_CCF.views, outlines, views):
        polygon = np.stack([outline.x, outline.y], axis=1)
        np.testing.assert_array_equal(polygon, shipped["allen_ccf_v3_um", view.name])
        assert 20 <= len(polygon) <= 60, "a few dozen points per view"
        for label, x, y in zip(regions.text, regions.x, regions.y):
            assert inside(polygon, np.array([x, y])), f"{label} outside the {view.name} silhouette"
    unknown = View("oblique", 0, 1, "a", "b")
    assert len(outline_2d(ALLEN_CCF, unknown)[0]) == 120  # a view without a silhouette: the ellipse


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_a_long_episode_plays_near_the_configured_frame_rate(tmp_path):
    """Played in headless Chromium in real time, ~200 frames follow each other at about FRAME_MS (the first page: ~1 s).

    The episode may end before 200 steps (where depends on the machine's float rounding of the sampled
    actions), so the page must play one frame per recorded step, as many as ``episodes.csv`` says.
    """
    from browser import Browser
    from recorded import record_run

    run = record_run(tmp_path / "long", episodes=1, steps=200)
    out = tmp_path / "bicamon.html"
    assert bicamon.main([str(run), "--out", str(out)]) == 0
    assert out.stat().st_size < 1_000_000  # a page per frame and step, the shared plotly.js beside it
    with Browser(bicamon.WIDTH, bicamon.HEIGHT) as browser:
        browser.open(out, "window.Plotly && document.querySelector('.plotly-graph-div')._fullLayout")
        times = browser.evaluate(PLAY)
    with open(run / "episodes.csv") as table:
        steps = int(next(csv.DictReader(table))["steps"])
    assert steps > 100, "a long episode"
    assert len(times) == steps
    per_frame = (times[-1] - times[0]) / (len(times) - 1)
    typical = float(np.median(np.diff(times)))
    print(f"{per_frame:.0f} ms per frame (median {typical:.0f}) against {bicamon.FRAME_MS} configured")
    # A frame comes at the first animation tick (60 per second) after FRAME_MS, so 83 ms at best; the machine's
    # other load stretches some frames; a full redraw per frame took 12x.
    assert typical < 1.5 * bicamon.FRAME_MS and per_frame < 3 * bicamon.FRAME_MS


#: Presses play as the button would and resolves to the time of each frame drawn (ms).
PLAY = """new Promise(resolve => {
  const gd = document.querySelector('.plotly-graph-div'), times = [];
  gd.on('plotly_animatingframe', () => times.push(performance.now()));
  gd.on('plotly_animated', () => resolve(times));
  const [frames, options] = gd.layout.updatemenus[0].buttons[0].args;
  Plotly.animate(gd, frames, options);
})"""
