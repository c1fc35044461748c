"""The perturbations' section of the cells page: each one's curve and table (:mod:`analysis.perturbations`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from analysis.completion import FILL_WORDS, RECURRENT, Completion, Curves
from analysis.darkness import PathIntegration
from analysis.perturbations import Perturbations
from analysis.report import table_figure

TRAINED, UNTRAINED = "rgb(31, 119, 180)", "rgb(150, 150, 150)"
#: Line style of each condition and control.
DASH = {RECURRENT: "solid", "lesioned": "dot"}
HEIGHT = 420


def perturbation_figures(perturbations: Perturbations | str) -> list[go.Figure]:
    """The curves and tables of the perturbations that were measured (none when they were not run)."""
    if isinstance(perturbations, str):
        return []
    figures = []
    if not isinstance(perturbations.completion, str):
        figures += [completion_figure(perturbations.completion[0]), completion_table(perturbations.completion)]
    if not isinstance(perturbations.path, str):
        figures += [path_figure(perturbations.path), path_table(perturbations.path)]
    return figures


def _brains(completion: Completion) -> list[tuple[str, Curves]]:
    return [("trained", completion.trained), *((f"untrained seed {seed}", curves)
                                                for seed, curves in enumerate(completion.untrained))]


def completion_figure(completion: Completion) -> go.Figure:
    """Output similarity against cue similarity per brain and condition, one point per level, beside the diagonal
    (above it: completion)."""
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="black", width=1, dash="dash"),
                                  name="output as similar as the cue"))
    levels = [f"{level:.0%} of the cue's units {FILL_WORDS[completion.fill]}" for level in completion.trained.levels]
    for name, curves in _brains(completion):
        for condition in completion.conditions:
            figure.add_trace(go.Scatter(
                x=curves.curve(), y=curves.curve(condition), mode="lines+markers", text=levels,
                name=f"{name}, {condition}", legendgroup=name, showlegend=name == "trained" or name.endswith(" 0"),
                line=dict(color=TRAINED if name == "trained" else UNTRAINED, dash=DASH[condition]),
                hovertemplate=f"{name}, {condition}<br>%{{text}}<br>cue r %{{x:.3f}}, output r %{{y:.3f}}"
                              "<extra></extra>"))
    figure.update_xaxes(title_text="cue similarity to the whole cue (r)", range=[-0.05, 1.05])
    figure.update_yaxes(title_text=f"{completion.region} output similarity (r)", range=[-0.05, 1.05])
    figure.update_layout(title=f"Pattern completion in {completion.region}: output against cue similarity (above the "
                               f"diagonal: completion)<br><sup>missing units {FILL_WORDS[completion.fill]}; solid: "
                               f"collaterals intact, dotted: cut (previous = 0); blue: trained, grey: untrained "
                               f"brains</sup>", height=HEIGHT)
    return figure


def completion_table(completions: Sequence[Completion]) -> go.Figure:
    """Per fill of the missing units, brain and condition: cue and output similarity at each level, the area and the
    episodes' effect size."""
    levels = completions[0].trained.levels[1:]
    rows = []
    for completion in completions:
        for name, curves in _brains(completion):
            for condition in completion.conditions:
                cue, output = curves.curve()[1:], curves.curve(condition)[1:]
                effect = f"{completion.effect(condition):.2f}" if name == "trained" else ""
                rows.append([FILL_WORDS[completion.fill], name, condition,
                             *(f"{a:.3f} / {b:.3f}" for a, b in zip(cue, output)), f"{curves.area(condition):+.3f}",
                             effect])
    header = ["missing units", "brain", "collaterals", *(f"{level:.0%} missing: cue / output r" for level in levels),
              "area (> 0: completion)", "P(trained episode > untrained)"]
    trained = completions[0].trained
    return table_figure(header, rows, f"Pattern completion, per brain<br><sup>{trained.steps:,} steps of "
                                      f"{len(np.unique(trained.episode))} episodes per level and brain; P: the "
                                      f"episodes' areas, trained against untrained</sup>",
                        [1.0, 1.1, 0.8, *([1.0] * len(levels)), 0.9, 0.9])


def _path_lines(path: PathIntegration) -> list[tuple[str, np.ndarray, str, str]]:
    """(name, errors, colour, dash) of every line of the path-integration figure and table."""
    lines = [("trained, dark", path.trained.dark, TRAINED, "solid"), ("trained, lights on", path.trained.lit,
                                                                      TRAINED, "dot")]
    for seed, decoding in enumerate(path.untrained):
        lines += [(f"untrained seed {seed}, dark", decoding.dark, UNTRAINED, "solid"),
                  (f"untrained seed {seed}, lights on", decoding.lit, UNTRAINED, "dot")]
    return lines + [("stays where it was at lights out", path.still, "black", "dash"),
                    ("chance: the other episodes' mean position", path.chance, "black", "dot")]


def path_figure(path: PathIntegration) -> go.Figure:
    """Mean decoding error against the steps since the lights went out, per brain, lit and dark, and the control
    that stays where it was."""
    figure = go.Figure()
    for name, errors, colour, dash in _path_lines(path):
        steps, mean = path.curve(errors)
        figure.add_trace(go.Scatter(x=steps, y=mean, mode="lines", name=name, line=dict(color=colour, dash=dash),
                                    hovertemplate=f"{name}<br>step %{{x}} in the dark: %{{y:.2f}} m<extra></extra>"))
    figure.update_xaxes(title_text="steps since the lights went out")
    figure.update_yaxes(title_text="position error (m)", rangemode="tozero")
    figure.update_layout(title=f"Path integration in the dark: {path.port} decoded (ridge, folds by episode)<br><sup>"
                               f"images zeroed after {path.darkness.after} lit steps; mean over the "
                               f"{path.episodes} episodes dark at each step</sup>", height=HEIGHT)
    return figure


def path_table(path: PathIntegration) -> go.Figure:
    """Per line of :func:`path_figure`: drift, error at the first dark step, mean error."""
    rows = [[name, f"{path.drift(errors):.3f}", f"{path.first(errors):.2f}", f"{errors.mean():.2f}"]
            for name, errors, _, _ in _path_lines(path)]
    header = ["brain", "drift (m/step)", "error at the first dark step (m)", "mean error (m)"]
    return table_figure(header, rows, f"Path integration, per brain<br><sup>{path.samples:,} dark steps of "
                                      f"{path.episodes} episodes; decoders fit on {path.lit_steps:,} lit steps; drift: "
                                      f"least-squares slope of the error over the steps in the dark</sup>",
                        [1.6, 1.0, 1.0, 1.0])

