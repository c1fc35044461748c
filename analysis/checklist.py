"""The 2017 team's neuroscience checklist, filled with what this recording measures.

The 2017 Brain-inspired A3C team ticked replay, place cells, grid cells, head-direction cells,
episodic memory, place recognition, navigation, CA1, CA3, entorhinal cortex and connectome, and
listed the rest as not done (``LEGACY_AGENT.md``). Each row here says what the 2017 team claimed
and what this project measured in the recording: a value where a measure exists, "not
measured" (and why) otherwise. Nothing is ticked for being present in the code alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from analysis.cellstats import MEASURES, PortCells, Pooled
from brain.connectome import Connectome

TICKED_2017 = ("replay", "place cells", "grid cells", "head-direction cells", "episodic memory", "place recognition",
               "navigation", "CA1", "CA3", "entorhinal cortex", "connectome")
NOT_DONE_2017 = ("preplay", "theta phase precession", "sparse representation", "pattern completion", "neurogenesis",
                 "path integration", "dentate gyrus", "CA2", "subiculum", "perirhinal / postrhinal cortex",
                 "memory transfer", "autonomous phase change", "BiCAMON visualisation")
SHORT = {"information": "place (info)", "gridness": "grid", "direction": "HD"}


@dataclass(frozen=True)
class Findings:
    """What the checklist reads: the analysed ports, the pooled episodes and the recorded brain."""

    ports: Sequence[PortCells]
    pooled: Pooled
    connectome: Connectome
    criterion: str  # what a significant unit beats (Settings.criterion)

    def region_type(self, port: PortCells) -> str:
        return self.connectome.regions[port.key.split(".")[0]].type


def _share(port: PortCells, measure: str) -> str:
    if measure in port.skipped:
        return f"{port.key}: not measured ({port.skipped[measure]})"
    significant = int(port.significant(measure).sum())
    return f"{port.key}: {significant}/{port.units} ({significant / port.units:.0%})"


def _cells(measure: str) -> Callable[[Findings], str]:
    def fill(findings: Findings) -> str:
        if not findings.ports:
            return "not measured (no port analysed)"
        if all(measure in port.skipped for port in findings.ports):
            return "not measured: " + "; ".join(dict.fromkeys(port.skipped[measure] for port in findings.ports))
        shares = "; ".join(_share(port, measure) for port in findings.ports)
        return f"units whose {MEASURES[measure]} beats {findings.criterion}: {shares}"
    return fill


def _region(kind: str) -> Callable[[Findings], str]:
    def fill(findings: Findings) -> str:
        mine = [port for port in findings.ports if findings.region_type(port) == kind]
        if not mine:
            return f"not measured (no {kind} port analysed)"
        return "; ".join(f"{port.key}: " + ", ".join(
            f"{SHORT[m]} {port.fraction(m):.0%}" for m in MEASURES if m in port.scores) for port in mine)
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
    "replay": _fixed("not measured: the recording holds region activity, not the memory writes of reverse replay"),
    "episodic memory": _fixed("not measured here: the memory's contents are not recorded; its occupancy is a "
                              "TensorBoard signal (python -m analysis.curves)"),
    "BiCAMON visualisation": _fixed("drawn, not measured: python -m analysis.bicamon RUN_DIR"),
}


def checklist_rows(findings: Findings) -> list[tuple[str, str, str]]:
    """``(item, 2017 team, measured here)`` for every item of the 2017 checklist."""
    rows = []
    for item in TICKED_2017 + NOT_DONE_2017:
        claimed = "ticked" if item in TICKED_2017 else "not done"
        rows.append((item, claimed, MEASURED[item](findings) if item in MEASURED else "not measured"))
    return rows
