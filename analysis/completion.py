"""Pattern completion in CA3: how much of CA3's output survives when part of its input is missing.

The classic test of an autoassociative network: degrade the cue, then compare how similar the output
stays to the output of the whole cue with how similar the degraded cue is to the whole cue. Output
similarity above input similarity is completion (the network restores what the cue lost); below it,
separation (the network exaggerates the difference).

The cue is CA3's afferent input, its ``drives`` ports joined (in ``wba``: ``ec``, the perforant path
from ``entorhinal.grid``, and ``visual``), at every step of the replayed episodes. A fraction p of the
cue's units, exactly ``round(p * units)`` drawn anew at each step, carries no information: it is held
at its mean over the whole-cue run (``mean``: the level it has on average), or set to zero (``zero``:
silent afferents; for units with an offset, such as the linear grid units, far outside their range,
a large perturbation rather than a partial cue). Both are measured, since what a missing unit reads
decides the answer. That at every step of an episode, CA3 running on over the episode from its own
state. The draws are seeded and the same for every brain and condition. Two conditions: the
recurrent collaterals intact (``previous`` is CA3's own state one step earlier, as the delay-1 edge
feeds it) and lesioned (``previous`` zeros, as a brain without the edge gets: the same weights, the
edge cut after training). Similarity is Pearson's r across units at one step, after subtracting from
each unit its mean over the whole-cue run (an offset every step shares would make any two patterns
look alike), so a unit held at its mean counts as no agreement; averaged over the steps. The score
is the area between the output and the input curve over p (trapezoid rule; 0 to 0.75 with the
default levels): above 0, completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from analysis.controls import superiority
from analysis.replay import one_thread
from brain.connectome import PortRef
from brain.engine import Brain
from regions.base import Tensors

#: Shares of the cue's units missing; the first, 0, is the whole cue that the others are compared with.
LEVELS = (0.0, 0.25, 0.5, 0.75)
#: What a missing unit of the cue reads: its mean over the whole-cue run, or zero. The first is the page's main one.
FILLS = ("mean", "zero")
FILL_WORDS = {"mean": "held at their mean", "zero": "set to zero"}
#: ``previous`` fed CA3's own state one step earlier (the recurrent collaterals), or zeros (lesioned).
RECURRENT, LESIONED = "recurrent", "lesioned"
#: Seed of the missing units.
SEED = 0
#: The region type probed, its output port and the input port its collaterals feed.
REGION_TYPE, OUTPUT, RECURRENT_PORT = "ca3", "state", "previous"

@dataclass(frozen=True)
class Network:
    """The network probed, its step split in two as the engine splits a recurrent region's: ``drive``, the part
    that reads the cue alone (``[N, n] -> {name: [N, ...]}``), run over every step at once, and ``step``, the
    rest, given the drive and the previous state (``[B, units]``) -> the state ``[B, units]``."""

    drive: Callable[[torch.Tensor], Tensors]
    step: Callable[[Tensors, torch.Tensor], torch.Tensor]
    units: int


def kept_units(steps: int, units: int, levels: Sequence[float], seed: int = SEED) -> np.ndarray:
    """``[steps, levels, units]``, False for the ``round(p * units)`` units missing at each step and level p
    (a random subset: the units whose place in a random permutation comes first)."""
    order = np.random.default_rng(seed).random((steps, len(levels), units), dtype=np.float32).argsort(-1)
    return order >= np.round(np.asarray(levels) * units).astype(int)[None, :, None]


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's r of ``a`` and ``b`` over their last axis; NaN where either is constant."""
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    norm = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(-1) / norm, np.nan)


def _trapezoid(values: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Area under ``values`` (last axis over ``levels``) by the trapezoid rule."""
    return ((values[..., 1:] + values[..., :-1]) / 2 * np.diff(levels)).sum(-1)


@torch.inference_mode()
def run_network(network: Network, cues: np.ndarray, starts: np.ndarray, recurrent: Sequence[bool]) -> np.ndarray:
    """The network's states ``[T, conditions, levels, units]`` for ``cues`` ``[T, levels, n]``: per condition, its
    own state fed back as ``previous`` (``recurrent`` True) or zeros, the state zeroed where ``starts`` (an
    episode's first step), as the engine does."""
    steps, levels, width = cues.shape
    conditions = len(recurrent)
    keep = torch.tensor(np.repeat(np.asarray(recurrent, dtype=np.float32), levels))[:, None]
    state = torch.zeros(len(keep), network.units)
    out = np.empty((steps, len(keep), network.units), dtype=np.float32)
    with one_thread():
        drive = network.drive(torch.from_numpy(np.ascontiguousarray(cues, dtype=np.float32)).reshape(-1, width))
        drive = {key: value.unflatten(0, (steps, levels)) for key, value in drive.items()}
        for t in range(steps):
            if starts[t]:
                state = torch.zeros_like(state)
            state = network.step({key: value[t].repeat(conditions, *[1] * (value.dim() - 2))
                                  for key, value in drive.items()}, state * keep)
            out[t] = state.numpy()
    return out.reshape(steps, conditions, levels, network.units)


@dataclass(frozen=True)
class Curves:
    """One brain's similarity to the whole cue's, per replayed step and level, of its cue and of its output per
    condition."""

    levels: tuple[float, ...]
    cue: np.ndarray  # [T, levels]
    output: Mapping[str, np.ndarray]  # condition -> [T, levels]
    episode: np.ndarray  # [T], the episode of each step (0, 1, ...)

    @property
    def steps(self) -> int:
        return len(self.episode)

    def curve(self, condition: str | None = None) -> np.ndarray:
        """Mean similarity per level over the steps where it is defined: of the output in ``condition``, or of the
        cue (None)."""
        values = self.cue if condition is None else self.output[condition]
        return _nanmean(values, 0)

    def area(self, condition: str) -> float:
        """Area between the output's curve in ``condition`` and the cue's (above 0: completion)."""
        return float(_trapezoid(self.curve(condition) - self.curve(), self.levels))

    def episode_areas(self, condition: str) -> np.ndarray:
        """The area per episode (each episode's steps averaged): the samples of the effect sizes."""
        gap = self.output[condition] - self.cue
        means = np.stack([_nanmean(gap[self.episode == e], 0) for e in np.unique(self.episode)])
        return _trapezoid(means, self.levels)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` of the finite values; NaN where there is none (a silent port), without a warning."""
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, values, 0).sum(axis) / finite.sum(axis)


def completion_curves(network: Network, cue: np.ndarray, starts: np.ndarray,
                      conditions: Sequence[str] = (RECURRENT, LESIONED), levels: Sequence[float] = LEVELS,
                      fill: str = FILLS[0], seed: int = SEED) -> Curves:
    """The similarity curves of ``network`` shown ``cue`` ``[T, n]`` (episodes begin where ``starts``), degraded to
    each of ``levels`` (the first must be 0, the whole cue) with the missing units reading ``fill``, in each of
    ``conditions``."""
    if not len(levels) or levels[0] != 0:
        raise ValueError(f"levels must start with 0 (the whole cue), got {list(levels)}")
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    mean = cue.mean(0)
    degraded = np.where(kept_units(len(cue), cue.shape[1], levels, seed), cue[:, None, :],
                        mean if fill == "mean" else np.zeros_like(mean))
    states = run_network(network, degraded, starts, [c == RECURRENT for c in conditions])
    output = {}
    for index, condition in enumerate(conditions):
        state = states[:, index] - states[:, index, 0].mean(0)
        output[condition] = similarity(state, state[:, :1])
    return Curves(tuple(levels), similarity(degraded - mean, (cue - mean)[:, None]), output,
                  np.cumsum(starts) - 1)


@dataclass(frozen=True)
class Completion:
    """The trained brain's curves beside the untrained brains' (one each), for one CA3 region and one fill."""

    region: str
    fill: str
    trained: Curves
    untrained: tuple[Curves, ...]

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(self.trained.output)

    def untrained_areas(self, condition: str) -> np.ndarray:
        return np.array([curves.area(condition) for curves in self.untrained])

    def effect(self, condition: str) -> float:
        """P(an episode's area in the trained brain > one's in an untrained brain); 0.5: no difference."""
        return superiority(self.trained.episode_areas(condition),
                           np.concatenate([curves.episode_areas(condition) for curves in self.untrained]))


@dataclass(frozen=True)
class CA3Wiring:
    """Where a CA3 region's cue comes from: its drive ports, each with the activity keys of its sources in
    connection order (the engine joins them so), and whether its collaterals (own state -> ``previous``,
    delay 1) are in the brain."""

    region: str
    ports: tuple[tuple[str, tuple[str, ...]], ...]  # a port without sources: its edges removed, zero-filled
    recurrent: bool

    @property
    def keys(self) -> list[str]:
        """The activity the probe reads: the cue's sources."""
        return [key for _, sources in self.ports for key in sources]

    @property
    def conditions(self) -> tuple[str, ...]:
        return (RECURRENT, LESIONED) if self.recurrent else (LESIONED,)

    def cue(self, activity: Mapping[str, np.ndarray]) -> np.ndarray:
        """``[T, n]``: the cue as CA3 got it, from the replayed activity of its sources."""
        return np.concatenate([activity[key] for key in self.keys], axis=1)

    def network(self, brain: Brain) -> Network:
        """The region of ``brain`` as a :class:`Network`. A drive port whose sources are all removed gets zeros, as
        the engine fills it."""
        region = brain.regions[self.region]
        widths = {port: int(np.prod(region.input_shapes[port])) for port, _ in self.ports}
        fed = [port for port, sources in self.ports if sources]

        def drive(cues: torch.Tensor) -> Tensors:
            ports = {port: cues.new_zeros(len(cues), width) for port, width in widths.items()}
            ports.update(zip(fed, cues.split([widths[port] for port in fed], -1)))
            return region.drive(ports)

        def step(driven: Tensors, previous: torch.Tensor) -> torch.Tensor:
            return region.driven(driven, {RECURRENT_PORT: previous} if self.recurrent else {}, {})[0][OUTPUT]
        return Network(drive, step, int(np.prod(region.output_shapes[OUTPUT])))


def ca3_wiring(brain: Brain) -> CA3Wiring | str:
    """The wiring of the brain's CA3 region (the first of type ``ca3``), or why it cannot be probed."""
    names = [name for name, spec in brain.connectome.regions.items() if spec.type == REGION_TYPE]
    if not names:
        return "the brain has no region of type ca3"
    name = names[0]
    if name not in brain.regions:
        return f"{name} is removed in this brain"
    if name in brain.connectome.lesions:
        return f"{name} is lesioned in this brain ({brain.connectome.lesions[name]})"
    region = brain.regions[name]
    ports = []
    for port in (port for port in region.drives if port in region.input_shapes):
        sources = tuple(str(conn.source) for _, conn in brain.links if conn.target == PortRef(name, port))
        if any(source.startswith("env.") for source in sources):
            return f"{name}.{port} reads the environment, not a region's activity"
        ports.append((port, sources))
    feedback = [conn for _, conn in brain.links if conn.target == PortRef(name, RECURRENT_PORT)]
    if not any(sources for _, sources in ports):
        return f"every input of {name}'s cue ({', '.join(region.drives)}) is removed"
    if feedback and [(conn.source, conn.delay) for conn in feedback] != [(PortRef(name, OUTPUT), 1)]:
        return (f"{name}.{RECURRENT_PORT} is fed by {', '.join(str(conn) for conn in feedback)}, not only by its own "
                f"{OUTPUT} one step earlier: cutting it would not be a lesion of the collaterals")
    return CA3Wiring(name, tuple(ports), bool(feedback))
