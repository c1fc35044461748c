"""Lesions at evaluation (``benchmarks/lesions.py``): each condition against the intact brain, and the file kept.

A study is one call of the benchmark: for each run directory (training seeds of one connectome),
task and condition (the intact brain, or one region silenced), the successes out of the episodes
played and, for water-maze probe trials, each trial's quadrant time shares and site crossings. It
is kept as ``lesions.json`` beside ``lesions.txt``, with the command and the settings that made it,
so that ``python -m analysis.ablation`` draws it without playing anything again.

A comparison pools a condition's episodes over the runs and sets them against the intact brain of
the same runs (a run trained with a region lesioned has no silenced condition of it): success rates
with Wilson 95 % intervals and the difference with Newcombe's 95 % interval; probe trials with
bootstrap intervals over trials (:mod:`analysis.probe`). Pooling treats the runs' episodes as one
sample, so its intervals leave out how much seeds differ; the per-run values show that spread.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from analysis.bootstrap import mean_difference_interval
from analysis.probe import CHANCE, ProbeSummary, probe_arrays, summarise
from analysis.proportions import difference_interval, wilson_interval
from analysis.report import AnalysisError

#: The condition every other is compared with.
INTACT = "intact"
#: The study's file in the first run directory, beside ``lesions.txt``.
RESULTS_FILE = "lesions.json"
#: How to make a study file, for error messages.
MAKE = "write it with python benchmarks/lesions.py RUN_DIR"


@dataclass(frozen=True)
class Outcome:
    """One run's episodes of one task under one condition (``intact`` or the silenced region)."""

    run: str
    task: str
    condition: str
    successes: int
    episodes: int


@dataclass(frozen=True)
class ProbeOutcome:
    """One run's probe trials under one condition: per trial, the time share and crossings of each quadrant."""

    run: str
    task: str
    condition: str
    shares: tuple[tuple[float, ...], ...]
    crossings: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class StudyRun:
    """A run directory of a study: its connectome and the lesions it trained under (not lesioned again)."""

    run: str
    connectome: str
    lesioned_in_training: dict[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class Study:
    """What one call of ``benchmarks/lesions.py`` played, and how."""

    command: str
    settings: dict[str, Any]
    runs: tuple[StudyRun, ...]
    outcomes: tuple[Outcome, ...]
    probes: tuple[ProbeOutcome, ...] = ()

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(outcome.task for outcome in self.outcomes))

    def probe_tasks(self) -> list[str]:
        return list(dict.fromkeys(probe.task for probe in self.probes))


def condition_name(condition: str) -> str:
    """``"ca3 silenced"``, and ``"intact"`` as it is."""
    return condition if condition == INTACT else f"{condition} silenced"


def _against_intact(items: Sequence, task: str, fix: str) -> tuple[list[str], list[tuple[str, dict, list]]]:
    """The task's runs in order, and per condition (the intact brain first) its items by run and the intact
    brain's items of the same runs; an :class:`AnalysisError` (``fix`` says how to mend it) where a run has none."""
    mine = [item for item in items if item.task == task]
    runs = list(dict.fromkeys(item.run for item in mine))
    conditions = sorted(dict.fromkeys(item.condition for item in mine), key=lambda name: name != INTACT)
    played = {name: {item.run: item for item in mine if item.condition == name} for name in conditions}
    intact = played.get(INTACT, {})
    for condition, items_by_run in played.items():
        missing = [run for run in items_by_run if run not in intact]
        if missing:
            raise AnalysisError(f"task {task}: run {missing[0]} has {condition} but no {INTACT} brain to compare it "
                                f"with; {fix}")
    return runs, [(name, by_run, [intact[run] for run in by_run]) for name, by_run in played.items()]


@dataclass(frozen=True)
class Comparison:
    """One condition's successes pooled over the runs that played it, against the intact brain of those runs."""

    condition: str
    successes: int
    episodes: int
    interval: tuple[float, float]  # Wilson 95 %
    difference: tuple[float, float, float] | None  # rate - intact rate, Newcombe 95 % low, high; None: the intact
    per_run: tuple[str, ...]  # successes/episodes of each run of the task, "-" where the run has no such condition

    @property
    def rate(self) -> float:
        return self.successes / self.episodes


def compare(outcomes: Sequence[Outcome], task: str) -> list[Comparison]:
    """The task's conditions, the intact brain first, each pooled over its runs and set against their intact brain."""
    runs, groups = _against_intact(outcomes, task, MAKE)
    rows = []
    for condition, played, base in groups:
        successes, episodes = (sum(getattr(o, key) for o in played.values()) for key in ("successes", "episodes"))
        base_successes, base_episodes = sum(o.successes for o in base), sum(o.episodes for o in base)
        difference = None
        if condition != INTACT:
            low, high = difference_interval(successes, episodes, base_successes, base_episodes)
            difference = (successes / episodes - base_successes / base_episodes, low, high)
        per_run = tuple(f"{played[run].successes}/{played[run].episodes}" if run in played else "-" for run in runs)
        rows.append(Comparison(condition, successes, episodes, wilson_interval(successes, episodes), difference,
                               per_run))
    return rows


@dataclass(frozen=True)
class ProbeComparison:
    """One condition's probe trials pooled over its runs, against the intact brain's of those runs."""

    condition: str
    summary: ProbeSummary
    difference: tuple[float, float, float] | None  # target share - intact's, bootstrap 95 % low, high
    per_run: tuple[str, ...]  # each run's mean time share of the platform's quadrant, "-" where not played


def _pooled(probes: Sequence[ProbeOutcome]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([row for probe in probes for row in probe.shares], dtype=float),
            np.array([row for probe in probes for row in probe.crossings], dtype=float))


def compare_probes(probes: Sequence[ProbeOutcome], task: str) -> list[ProbeComparison]:
    """The task's probe conditions, the intact brain first, each against the intact brain of the same runs."""
    runs, groups = _against_intact(probes, task, f"{MAKE} --probe")
    rows = []
    for condition, played, intact in groups:
        shares, crossings = _pooled(list(played.values()))
        summary, difference = summarise(shares, crossings), None
        if condition != INTACT:
            base = _pooled(intact)[0][:, 0]
            difference = (summary.target_share - float(base.mean()),
                          *mean_difference_interval(shares[:, 0], base))
        per_run = tuple(f"{np.mean([row[0] for row in played[run].shares]):.0%}" if run in played else "-"
                        for run in runs)
        rows.append(ProbeComparison(condition, summary, difference, per_run))
    return rows


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _versus(difference: tuple[float, float, float] | None) -> str:
    if difference is None:
        return "control"
    value, low, high = difference
    return f"{value:+.0%} [{low:+.0%}, {high:+.0%}]"


def success_table(comparisons: Sequence[Comparison]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings (the text file and the page): per run counts only with several runs."""
    several = len(comparisons[0].per_run) > 1
    header = ["condition", "successes", "success [Wilson 95 %]", "vs intact [Newcombe 95 %]",
              *(["per run"] if several else [])]
    rows = [[condition_name(c.condition), f"{c.successes}/{c.episodes}",
             f"{_percent(c.rate)} [{_percent(c.interval[0])}, {_percent(c.interval[1])}]", _versus(c.difference),
             *([" ".join(c.per_run)] if several else [])] for c in comparisons]
    return header, rows


def probe_table(comparisons: Sequence[ProbeComparison]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings of the probe trials: time share against chance and the intact brain, crossings."""
    several = len(comparisons[0].per_run) > 1
    header = ["condition", "probe trials", f"platform quadrant [bootstrap 95 %], chance {_percent(CHANCE)}",
              "vs intact [bootstrap 95 %]", "site crossings per trial: platform / other (difference [bootstrap 95 %])",
              *(["per run"] if several else [])]
    rows = []
    for c in comparisons:
        s = c.summary
        rows.append([condition_name(c.condition), str(s.episodes),
                     f"{_percent(s.target_share)} [{_percent(s.target_interval[0])}, {_percent(s.target_interval[1])}]",
                     _versus(c.difference), f"{s.crossings:.2f} / {s.other_crossings:.2f} ({s.excess:+.2f} "
                                            f"[{s.excess_interval[0]:+.2f}, {s.excess_interval[1]:+.2f}])",
                     *([" ".join(c.per_run)] if several else [])])
    return header, rows


# --- the file --------------------------------------------------------------------------------------


def write_study(study: Study, path: Path) -> Path:
    path.write_text(json.dumps(asdict(study), indent=1) + "\n")
    return path


def _entries(data: dict, key: str, fields: dict[str, type], path: Path) -> list[dict]:
    """``data[key]`` as a list of dicts holding just ``fields``, each checked to have its type."""
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise AnalysisError(f"{path}: '{key}' must be a list; {MAKE}")
    for index, entry in enumerate(entries):
        for name, kind in fields.items():
            value = entry.get(name) if isinstance(entry, dict) else None
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
                raise AnalysisError(f"{path}: {key}[{index}] has no valid '{name}' (a {kind.__name__}); {MAKE}")
    return [{name: entry[name] for name in fields} for entry in entries]


def read_study(path: Path) -> Study:
    """The study in ``path``, or an :class:`AnalysisError` naming the file, the field and the fix."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AnalysisError(f"{path}: not a lesion study ({error}); {MAKE}") from None
    if not isinstance(data, dict) or not isinstance(data.get("command"), str) \
            or not isinstance(data.get("settings"), dict):
        raise AnalysisError(f"{path}: a lesion study has a 'command' and 'settings'; {MAKE}")
    keys = {"run": str, "task": str, "condition": str}
    runs = [StudyRun(**entry) for entry in _entries(data, "runs", {"run": str, "connectome": str,
                                                                   "lesioned_in_training": dict}, path)]
    outcomes = [Outcome(**entry) for entry in _entries(data, "outcomes", {**keys, "successes": int, "episodes": int},
                                                       path)]
    if any(not 0 <= o.successes <= o.episodes or o.episodes < 1 for o in outcomes):
        raise AnalysisError(f"{path}: an outcome needs 0 <= successes <= episodes and episodes >= 1; {MAKE}")
    probes = []
    for index, entry in enumerate(_entries(data, "probes", {**keys, "shares": list, "crossings": list}, path)):
        try:
            shares, crossings = probe_arrays(entry["shares"], entry["crossings"])
        except (ValueError, TypeError) as error:
            raise AnalysisError(f"{path}: probes[{index}]: {error}; {MAKE}") from None
        probes.append(ProbeOutcome(entry["run"], entry["task"], entry["condition"],
                                   tuple(map(tuple, shares.tolist())), tuple(map(tuple, crossings.astype(int).tolist()))))
    return Study(data["command"], data["settings"], tuple(runs), tuple(outcomes), tuple(probes))
