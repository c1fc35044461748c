"""Two perturbations of the trained brain on the cells page: part of CA3's input missing (pattern completion), the
lights out (path integration).

A recording holds what the brain did, not what it would have done with part of CA3's input missing
or in the dark, so the perturbations run brains again on the replayed episodes
(:mod:`analysis.replay`): the run's trained brain, from its checkpoint (the weights at the end of
training, not those each recorded episode was played with), beside the untrained brains of the cells
page's control (the recorded connectome, seeds ``0 .. K-1``). Every brain sees the recorded
observations in the mode the recorded brain acted in. The lit run is the cells page's own replay
(with the trained brain and the ports read here added to it); the dark run shows each episode up to
its last dark step only. :mod:`analysis.completion` and :mod:`analysis.darkness` say what each
perturbation measures; here they are run and put into words for the checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from analysis.checklist import spread
from analysis.completion import (FILL_WORDS, FILLS, LESIONED, RECURRENT, CA3Wiring, Completion, Network, ca3_wiring,
                                 completion_curves)
from analysis.darkness import REGION_TYPE, PORT, Darkness, PathIntegration, path_integration
from analysis.replay import Replay, replayed_activity
from brain.connectome import Connectome
from brain.engine import Brain
from brain.recording import Recording
from brain.training.rundir import CHECKPOINT, RunDirError, has_checkpoint, load_checkpoint


#: The checklist items the perturbations fill.
CHECKLIST_ITEMS = ("pattern completion", "path integration")


@dataclass(frozen=True)
class Perturbations:
    """What the perturbations found, or why each was not measured; ``weights`` says which trained brain they ran."""

    weights: str
    completion: tuple[Completion, ...] | str  # one per fill of the missing units (completion.FILLS)
    path: PathIntegration | str

    def rows(self) -> dict[str, str]:
        """The checklist's rows these perturbations fill: item -> what was measured."""
        trained = f" (trained brain: {self.weights})"
        return {"pattern completion": completion_text(self.completion) + trained,
                "path integration": path_text(self.path) + trained}


def trained_brain(path: Path, connectome: Connectome) -> tuple[Brain, str] | str:
    """The recorded connectome with the run's checkpointed weights and what they are, or why there are none."""
    run_dir = path if path.is_dir() else path.parent
    if not has_checkpoint(run_dir):
        return f"no trained weights: {run_dir} holds no {CHECKPOINT} (the perturbations run the trained brain)"
    brain = Brain(connectome)
    try:
        payload = load_checkpoint(run_dir, brain)
    except RunDirError as error:
        return f"no trained weights: {error}"
    brain.load_state_dict(payload["brain"])
    return brain, f"the checkpoint in {run_dir} ({int(payload['steps']):,} steps trained)"


def trained_for_perturbations(path: Path, connectome: Connectome, wanted: bool, controls: int,
                              replayed: Replay | None) -> tuple[Brain, str] | str:
    """The trained brain the perturbations run, with what it is (:func:`trained_brain`), or why they do not run."""
    if not wanted:
        return "--no-perturbations"
    if not controls:
        return "--controls 0 (the perturbations compare the trained brain with the untrained control)"
    if replayed is None or not replayed.episodes:
        return "no recorded episode could be replayed"
    return trained_brain(path, connectome)


def grid_port(brain: Brain) -> str | None:
    """``region.grid`` of the brain's first entorhinal region, None when it has none (or it is removed)."""
    names = [name for name, spec in brain.connectome.regions.items() if spec.type == REGION_TYPE]
    key = f"{names[0]}.{PORT}" if names else None
    return key if key in brain.output_shapes() else None


def perturbation_keys(brain: Brain) -> list[str]:
    """The ports the perturbations read from the lit run: CA3's cue sources and the grid port."""
    wiring = ca3_wiring(brain)
    keys = wiring.keys if isinstance(wiring, CA3Wiring) else []
    grid = grid_port(brain)
    return list(dict.fromkeys(keys + ([grid] if grid else [])))


def run_perturbations(recording: Recording, replayed: Replay, positions: np.ndarray, brains: Sequence[Brain],
                      lit: Sequence[Mapping[str, np.ndarray]], weights: str,
                      darkness: Darkness = Darkness()) -> Perturbations:
    """Both perturbations for ``brains`` (the trained one first, then the untrained), whose ``lit`` activity over the
    replayed episodes (``positions`` ``[N, 2]``, the true x and z of each step) holds :func:`perturbation_keys`."""
    starts = np.concatenate([np.arange(trial.length) == 0 for trial in replayed.trials])
    wiring = ca3_wiring(brains[0])
    if isinstance(wiring, str):
        completion: tuple[Completion, ...] | str = f"not measured: {wiring}"
    else:
        shown = [(wiring.network(brain), wiring.cue(activity)) for brain, activity in zip(brains, lit)]
        completion = tuple(_completion(wiring, fill, shown, starts) for fill in FILLS)
    return Perturbations(weights, completion, _path(recording, replayed, positions, brains, lit, darkness))


def _completion(wiring: CA3Wiring, fill: str, shown: Sequence[tuple[Network, np.ndarray]],
                starts: np.ndarray) -> Completion:
    """Each brain's curves (its CA3 and its cue; the trained brain's first) with the missing units reading ``fill``."""
    curves = [completion_curves(network, cue, starts, wiring.conditions, fill=fill) for network, cue in shown]
    return Completion(wiring.region, fill, curves[0], tuple(curves[1:]))


def _path(recording: Recording, replayed: Replay, positions: np.ndarray, brains: Sequence[Brain],
          lit: Sequence[Mapping[str, np.ndarray]], darkness: Darkness) -> PathIntegration | str:
    grid = grid_port(brains[0])
    if grid is None:
        return "not measured: the brain has no entorhinal grid port"
    if len(replayed.trials) < 2:
        return "not measured: decoding position out of fold needs two replayed episodes at least"
    if not any(darkness.shown(trial.length) for trial in replayed.trials):
        return f"not measured: no replayed episode is longer than the {darkness.after} lit steps before the dark"
    dark = replayed_activity(recording, replayed, brains, [grid], darkness.view)
    return path_integration(replayed.trials, darkness, grid, positions, lit, dark)


def completion_text(completion: Sequence[Completion] | str) -> str:
    """The checklist's "pattern completion" row: the first fill in full, the others' areas after it."""
    if isinstance(completion, str):
        return completion
    main, *others = completion
    trained, levels, region = main.trained, main.trained.levels, main.region
    parts = []
    for condition in main.conditions:
        collaterals = "with the collaterals" if condition == RECURRENT else "collaterals cut (previous = 0)"
        parts.append(f"{collaterals}: trained {trained.area(condition):+.3f}, untrained "
                     f"{spread(main.untrained_areas(condition), '{:+.3f}')}, P(trained episode > untrained) "
                     f"{main.effect(condition):.2f}")
    if main.conditions == (RECURRENT, LESIONED):
        added = main.untrained_areas(RECURRENT) - main.untrained_areas(LESIONED)
        parts.append(f"the collaterals add {trained.area(RECURRENT) - trained.area(LESIONED):+.3f} in the trained "
                     f"brain, {spread(added, '{:+.3f}')} in the untrained")
    first = main.conditions[0]
    area, control = trained.area(first), main.untrained_areas(first)
    verdict = (f"The trained {region} {'completes' if area > 0 else 'does not complete'} "
               f"({'with its collaterals' if first == RECURRENT else 'without collaterals'}), "
               f"{'above' if area > np.nanmax(control) else 'not above'} every untrained brain")
    alike = [f"Missing units {FILL_WORDS[other.fill]} instead, {first}: trained {other.trained.area(first):+.3f}, "
             f"untrained {spread(other.untrained_areas(first), '{:+.3f}')}" for other in others]
    return (f"{region}: area between output and cue similarity over {_percent(levels[1:])} of its cue's units missing "
            f"({FILL_WORDS[main.fill]}; > 0: completion): {'; '.join(parts)}. {'. '.join([verdict, *alike])}; "
            f"{trained.steps:,} steps of {len(np.unique(trained.episode))} episodes per level and brain")


def _percent(levels: Sequence[float]) -> str:
    return ", ".join(f"{level:.0%}" for level in levels)


def path_text(path: PathIntegration | str) -> str:
    """The checklist's "path integration" row."""
    if isinstance(path, str):
        return path
    darkness, trained, untrained = path.darkness, path.trained, path.untrained

    def each(values: Sequence[float], text: str = "{:.2f}") -> str:
        return spread(np.array(values), text)

    dark, chance = trained.dark.mean(), path.chance.mean()
    if dark < chance:
        below = dark < min(d.dark.mean() for d in untrained)
        verdict = (f"The trained code keeps position in the dark (its error is below chance), "
                   f"{'below' if below else 'not below'} every untrained brain's")
    else:
        verdict = ("The trained code keeps no position in the dark (its error is not below chance), so its drift "
                   "says nothing of path integration")
    text = (f"{path.port} decoded by ridge regression (folds by episode) after {darkness.after} lit steps, up to "
            f"{darkness.steps} dark steps (images zeroed). Mean error: lights on at the same steps "
            f"{trained.lit.mean():.2f} m; in the dark trained {dark:.2f} m ({path.first(trained.dark):.2f} m at the "
            f"first dark step), untrained {each([d.dark.mean() for d in untrained])} m; stays where it was "
            f"{path.still.mean():.2f} m, chance (the mean position) {chance:.2f} m. Drift in the dark: trained "
            f"{path.drift(trained.dark):.3f} m/step, untrained "
            f"{each([path.drift(d.dark) for d in untrained], '{:.3f}')}, stays where it was "
            f"{path.drift(path.still):.3f}; P(trained drifts less than untrained) "
            f"{path.less_drift(trained.dark, [d.dark for d in untrained]):.2f}, than staying "
            f"{path.less_drift(trained.dark, [path.still]):.2f}. {verdict}; {path.samples:,} dark steps of "
            f"{path.episodes} episodes, decoders fit on {path.lit_steps:,} lit steps")
    axis = path.one_axis()
    if axis is not None:
        text += (f"; position varies along {axis} only (std x {path.spread[0]:.2f} m, z {path.spread[1]:.2f} m): "
                 f"the decoder has one axis to read")
    return text
