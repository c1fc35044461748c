"""The 2017 team's neuroscience checklist, filled with what this recording measures.

The 2017 Brain-inspired A3C team ticked replay, place cells, grid cells, head-direction cells,
episodic memory, place recognition, navigation, CA1, CA3, entorhinal cortex and connectome, and
listed the rest as not done (``LEGACY_AGENT.md``). Each row here says what the 2017 team claimed
and what this project measured in the recording: a value where a measure exists, "not
measured" (and why) otherwise. Nothing is ticked for being present in the code alone.

Cells count as found only against the untrained control (:mod:`analysis.controls`): a unit must
beat its own shuffles and the untrained brains' units. Without a control the rows say so and give
the shuffle shares as what they are, not a finding. Ports fitted to a teacher
(:mod:`analysis.supervised`) are never counted: the rows name them as supervised, with how well
they match their teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from analysis.cellstats import MEASURES, PortCells, Pooled
from analysis.controls import Control
from analysis.episodic import Episodic, memory_row, replay_row
from analysis.supervised import Supervision
from brain.connectome import Connectome

if TYPE_CHECKING:
    from analysis.perturbations import Perturbations

TICKED_2017 = ("replay", "place cells", "grid cells", "head-direction cells", "episodic memory", "place recognition",
               "navigation", "CA1", "CA3", "entorhinal cortex", "connectome")
NOT_DONE_2017 = ("preplay", "theta phase precession", "sparse representation", "pattern completion", "neurogenesis",
                 "path integration", "dentate gyrus", "CA2", "subiculum", "perirhinal / postrhinal cortex",
                 "memory transfer", "autonomous phase change", "BiCAMON visualisation")
SHORT = {"information": "place (info)", "gridness": "grid", "direction": "HD"}
#: How the figures of a teacher match read (:meth:`analysis.supervised.TeacherMatch.summary`).
MATCH_FORMATS = {"r": ("unit-teacher r", "{:.2f}"), "peak distance": ("peak-to-centre distance", "{:.1f} m"),
                 "peak r": ("peak-to-centre r", "{:.2f}"), "direction error": ("preferred-direction error",
                                                                             "{:.0f} deg")}


@dataclass(frozen=True)
class Findings:
    """What the checklist reads: the analysed ports, the pooled episodes and the recorded brain.

    Attributes:
        controls: port -> the port beside the untrained brains' (empty: no control).
        supervised: port -> its teacher and how well it matches (every analysed port a teacher fits).
        control: the control as the page says it (which brains, how many), or why there is none.
        replay: which recorded episodes the control saw again, which not and why (``Replay.summary``; empty: no
            replay tried).
        perturbations: pattern completion and path integration (:mod:`analysis.perturbations`), or why they were
            not run.
        episodic: the episodic memory's recall and value accuracy (:mod:`analysis.episodic`), or why not measured.
    """

    ports: Sequence[PortCells]
    pooled: Pooled
    connectome: Connectome
    criterion: str  # what a significant unit beats (Settings.criterion)
    controls: Mapping[str, Control] = field(default_factory=dict)
    supervised: Mapping[str, Supervision] = field(default_factory=dict)
    control: str = "no control"
    replay: str = ""
    perturbations: Perturbations | str = "not run"
    episodic: Episodic | str = "the memory was not analysed"

    def region_type(self, port: PortCells) -> str:
        return self.connectome.regions[port.key.split(".")[0]].type

    def emergent(self) -> list[PortCells]:
        """The analysed ports that no teacher fits: where cells could emerge."""
        return [port for port in self.ports if port.key not in self.supervised]

    def controlled(self, port: PortCells, measure: str) -> Control | None:
        """The port's control for ``measure``, None when there is none."""
        control = self.controls.get(port.key)
        return control if control is not None and control.measured(measure) else None


def spread(values: np.ndarray, text: str = "{:.0%}") -> str:
    """Mean and range over seeds, e.g. ``40% (31% to 52%)``; one seed: the value; ``-`` when none is finite."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return "-"
    if len(values) == 1:
        return text.format(values[0])
    return f"{text.format(values.mean())} ({text.format(values.min())} to {text.format(values.max())})"


def found_share(control: Control, measure: str) -> str:
    """``key: found/units (share)`` with what the untrained brains reach by the shuffles alone."""
    found, units = int(control.found(measure).sum()), control.trained.units
    return (f"{control.trained.key}: {found}/{units} ({found / units:.0%}; untrained brains' units beating their "
            f"shuffles: {spread(control.untrained_fractions(measure))})")


def _emergent_share(findings: Findings, port: PortCells, measure: str) -> str:
    """A port no teacher fits, against the control (or why it is not: the measure could not be taken)."""
    control = findings.controlled(port, measure)
    if control is not None:
        return found_share(control, measure)
    if measure in port.skipped:
        return _share(port, measure)
    return f"{_share(port, measure)} beat the shuffles; no finding: not measured in the untrained brains"


def _share(port: PortCells, measure: str) -> str:
    if measure in port.skipped:
        return f"{port.key}: not measured ({port.skipped[measure]})"
    significant = int(port.significant(measure).sum())
    return f"{port.key}: {significant}/{port.units} ({significant / port.units:.0%})"


def match_text(supervision: Supervision) -> str:
    """``key: matches its teacher 'name' with unit-teacher r 0.62 (untrained 0.01), ...`` (or why it was not
    matched)."""
    if not supervision.trained.summary():
        return f"{supervision.key}: supervised by its teacher {supervision.teacher!r}; not matched: " \
               f"{supervision.trained.note}"
    parts = []
    for name, trained, untrained in supervision.figures():
        label, text = MATCH_FORMATS[name]
        value = text.format(trained) if np.isfinite(trained) else "-"
        control = f" (untrained {spread(untrained, text)})" if len(untrained) else ""
        parts.append(f"{label} {value}{control}")
    peaks = supervision.trained.peak_error
    units = supervision.trained.correlation
    visited = (f"; {len(peaks)}/{len(units)} ({len(peaks) / len(units):.0%}) units have their field centre in a "
               f"visited bin" if peaks is not None and units is not None and len(units) else "")
    return f"{supervision.key}: matches its teacher {supervision.teacher!r} with {', '.join(parts)}{visited}"


def _supervised_for(findings: Findings, measure: str) -> list[Supervision]:
    return [s for s in findings.supervised.values() if s.measure == measure]


def _cells(measure: str) -> Callable[[Findings], str]:
    def fill(findings: Findings) -> str:
        if not findings.ports:
            return "not measured (no port analysed)"
        parts = []
        emergent = findings.emergent()
        if emergent and all(measure in port.skipped for port in emergent):
            parts.append("not measured: " + "; ".join(dict.fromkeys(port.skipped[measure] for port in emergent)))
        elif emergent and findings.controls:
            shares = "; ".join(_emergent_share(findings, port, measure) for port in emergent)
            parts.append(f"units whose {MEASURES[measure]} beats {findings.criterion} and {findings.control}: "
                         f"{shares}")
        elif emergent:
            shares = "; ".join(_share(port, measure) for port in emergent)
            parts.append(f"{findings.control}, so no finding: units whose {MEASURES[measure]} beats "
                         f"{findings.criterion} (units of untrained brains can too): {shares}")
        supervised = _supervised_for(findings, measure)
        if supervised:
            parts.append("supervised, not counted as cells: " + "; ".join(match_text(s) for s in supervised))
        if not parts:
            parts.append("not measured: every analysed port is fitted to a teacher of another kind")
        return " | ".join(parts)
    return fill


def _port_summary(findings: Findings, port: PortCells) -> str:
    """A port's shares in a few words: found against the control, shuffle shares without one, or supervised."""
    if port.key in findings.supervised:
        return f"{port.key}: supervised (fitted to its teacher {findings.supervised[port.key].teacher!r}), not counted"
    shares = []
    for measure in MEASURES:
        if measure not in port.scores:
            continue
        control = findings.controlled(port, measure)
        shares.append(f"{SHORT[measure]} {control.fraction(measure):.0%} found" if control is not None else
                      f"{SHORT[measure]} {port.fraction(measure):.0%} beat the shuffles")
    if not findings.controls:
        shares.append(findings.control)
    return f"{port.key}: " + ", ".join(shares)


def _region(kind: str) -> Callable[[Findings], str]:
    def fill(findings: Findings) -> str:
        mine = [port for port in findings.ports if findings.region_type(port) == kind]
        if not mine:
            return f"not measured (no {kind} port analysed)"
        return "; ".join(_port_summary(findings, port) for port in mine)
    return fill


def _navigation(findings: Findings) -> str:
    pooled = findings.pooled
    return f"{pooled.successes} of {len(pooled.episodes)} recorded episodes in maze {pooled.maze} ended in success"


def _sparseness(findings: Findings) -> str:
    if not findings.ports:
        return "not measured (no port analysed)"
    values = "; ".join(f"{port.key}: {port.sparseness:.2f}" for port in findings.ports)
    return f"mean population sparseness (0 dense, 1 one unit active): {values}"


def _connectome(findings: Findings) -> str:
    connectome = findings.connectome
    lesions = ", ".join(f"{key}: {mode}" for key, mode in connectome.lesions.items()) or "none"
    return (f"{connectome.name}: {len(connectome.regions)} regions, {len(connectome.connections)} connections "
            f"(lesions: {lesions}); a model's wiring, not a measure")


def _perturbed(item: str) -> Callable[[Findings], str]:
    """A row that a perturbation of the trained brain fills (:mod:`analysis.perturbations`)."""
    return lambda findings: (f"not measured: {findings.perturbations}" if isinstance(findings.perturbations, str)
                             else findings.perturbations.rows()[item])


def _fixed(text: str) -> Callable[[Findings], str]:
    return lambda findings: text


#: Item -> how it is filled; items not here are "not measured".
MEASURED: dict[str, Callable[[Findings], str]] = {
    "place cells": _cells("information"),
    "grid cells": _cells("gridness"),
    "head-direction cells": _cells("direction"),
    "CA1": _region("ca1"),
    "CA3": _region("ca3"),
    "entorhinal cortex": _region("entorhinal"),
    "navigation": _navigation,
    "sparse representation": _sparseness,
    "connectome": _connectome,
    "replay": lambda findings: replay_row(findings.episodic),
    "episodic memory": lambda findings: memory_row(findings.episodic),
    "BiCAMON visualisation": _fixed("drawn, not measured: python -m analysis.bicamon RUN_DIR"),
    "pattern completion": _perturbed("pattern completion"),
    "path integration": _perturbed("path integration"),
}


def checklist_rows(findings: Findings) -> list[tuple[str, str, str]]:
    """``(item, 2017 team, measured here)`` for every item of the 2017 checklist."""
    rows = []
    for item in TICKED_2017 + NOT_DONE_2017:
        claimed = "ticked" if item in TICKED_2017 else "not done"
        rows.append((item, claimed, MEASURED[item](findings) if item in MEASURED else "not measured"))
    return rows
