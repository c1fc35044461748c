"""Path integration in the dark: how fast the position read from the grid code drifts once vision is cut.

A path integrator keeps track of where it is from self-motion alone, so its estimate drifts slowly
when the landmarks go; a code driven by what is seen loses position at once. On the replayed
episodes, the lights go out after :attr:`Darkness.after` lit steps: from then on every image input of
the brain (the environment ports with three axes, ``rgb`` and ``depth``) is zeros, while self-motion
(``odometry``) and reward go on, for :attr:`Darkness.steps` steps (or to the episode's end). Zeroing the
images, not the visual cortex's output, is what darkness does to an eye: the visual cortex still
answers, to a black view.

A linear decoder of position (x, z, metres) from the grid port is fit by ridge regression on lit
steps, every step of the replayed episodes with the lights on, and read out in the dark. Folds by
episode: an episode's steps are decoded by a decoder fit on the other episodes' lit steps, so no
step is decoded by a decoder that saw it or its neighbours. The penalty is chosen among
:data:`ALPHAS` by the same leave-one-episode-out error on the lit steps (the dark steps play no
part). Units are standardised by their mean and spread over the lit steps.

The error (Euclidean distance to the true position) is followed over the steps since the lights went
out, beside four controls: the same brain with the lights on at the same steps (its decoder's own
error), untrained brains of the same connectome (each with its own decoder), the position the agent
had at the last lit step ("stays where it was": no integration at all), and the other episodes' mean
lit position (a decoder that reads nothing: the chance level). Drift is the
least-squares slope of the error over the steps since the lights went out (metres per step), over all
dark samples; the effect sizes compare the brains' per-episode slopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from analysis.controls import superiority
from analysis.replay import ReplayedTrial, one_thread

#: Ridge penalties tried (on standardised units).
ALPHAS = tuple(10.0 ** np.arange(-2, 5))
#: The port decoded: the region type and its output.
REGION_TYPE, PORT = "entorhinal", "grid"
#: Below this ratio of the position's spread along its narrower axis to its wider one, the maze is a corridor:
#: the decoder has one axis to read.
ONE_AXIS = 0.2


@dataclass(frozen=True)
class Darkness:
    """When the lights go out in each replayed episode, and for how long it is followed."""

    after: int = 20  # lit steps first (the brain settles on where it is)
    steps: int = 30  # dark steps followed at most

    def shown(self, length: int) -> int:
        """Steps of an episode of ``length`` the dark run shows (0: too short to go dark)."""
        return min(length, self.after + self.steps) if length > self.after else 0

    def view(self, trial: ReplayedTrial, step: int, ports: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        """What the brain sees (:data:`analysis.replay.View`): the images zeroed from step ``after`` on."""
        if step >= self.shown(trial.length):
            return None
        if step < self.after:
            return ports
        return {key: np.zeros_like(value) if value.ndim == 3 else value for key, value in ports.items()}


def _standardised(features: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> torch.Tensor:
    """Units standardised, with a column of ones for the intercept."""
    return torch.from_numpy(np.column_stack([(features - mean) / scale, np.ones(len(features))]))


def decode_out_of_fold(lit: np.ndarray, positions: np.ndarray, groups: np.ndarray, test: np.ndarray,
                       test_groups: np.ndarray, alphas: Sequence[float] = ALPHAS) -> tuple[np.ndarray, float]:
    """Positions of the ``test`` rows, each decoded by ridge regression fit on the ``lit`` rows of the other groups
    (episodes), with the penalty of ``alphas`` whose leave-one-group-out error on the lit rows is least; and that
    penalty. Needs two groups at least."""
    names = np.unique(groups)
    if len(names) < 2:
        raise ValueError("decoding out of fold needs two episodes at least")
    mean, scale = lit.mean(0), lit.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    design, shown = _standardised(lit, mean, scale), _standardised(test, mean, scale)
    target = torch.from_numpy(np.asarray(positions, dtype=np.float64))
    rows = [torch.from_numpy(groups == g) for g in names]
    with one_thread():
        grams = torch.stack([design[r].T @ design[r] for r in rows])  # [groups, units + 1, units + 1]
        moments = torch.stack([design[r].T @ target[r] for r in rows])
        penalty = torch.diag(torch.tensor([1.0] * (design.shape[1] - 1) + [0.0], dtype=torch.float64))
        held_out, moment = grams.sum(0) - grams, moments.sum(0) - moments  # each group's fit without its own rows
        fits = {alpha: torch.linalg.solve(held_out + alpha * penalty, moment) for alpha in alphas}
        errors = {alpha: np.mean([float((design[r] @ fit[g] - target[r]).norm(dim=1).mean())
                                  for g, r in enumerate(rows)]) for alpha, fit in fits.items()}
        best = min(alphas, key=errors.__getitem__)
        decoded = np.empty((len(test), positions.shape[1]))
        for g, name in enumerate(names):
            decoded[test_groups == name] = (shown[torch.from_numpy(test_groups == name)] @ fits[best][g]).numpy()
    return decoded, best


def drift(errors: np.ndarray, since: np.ndarray) -> float:
    """Least-squares slope of ``errors`` over ``since`` (steps since the lights went out): metres per step."""
    if len(np.unique(since)) < 2:
        return float("nan")
    return float(np.polyfit(since.astype(float), errors, 1)[0])


def episode_drifts(errors: np.ndarray, since: np.ndarray, episode: np.ndarray) -> np.ndarray:
    """The drift of each episode's dark samples (NaN for an episode with one)."""
    return np.array([drift(errors[episode == e], since[episode == e]) for e in np.unique(episode)])


@dataclass(frozen=True)
class Decoding:
    """One brain's decoding errors (metres) at the dark samples: with the lights out, and on at the same steps."""

    dark: np.ndarray
    lit: np.ndarray
    alpha: float


@dataclass(frozen=True)
class PathIntegration:
    """The dark samples (steps since the lights went out, episode) and every brain's and control's errors there."""

    darkness: Darkness
    port: str
    since: np.ndarray  # [M], 1 at the first dark step
    episode: np.ndarray  # [M]
    trained: Decoding
    untrained: tuple[Decoding, ...]
    still: np.ndarray  # [M], error of "stays where it was at the last lit step"
    chance: np.ndarray  # [M], error of the other episodes' mean lit position (a decoder that reads nothing)
    spread: np.ndarray  # [2], standard deviation of x and z over the lit steps
    lit_steps: int

    @property
    def samples(self) -> int:
        return len(self.since)

    @property
    def episodes(self) -> int:
        return len(np.unique(self.episode))

    def drift(self, errors: np.ndarray) -> float:
        return drift(errors, self.since)

    def curve(self, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steps since the lights went out and the mean error at each."""
        steps = np.unique(self.since)
        return steps, np.array([errors[self.since == k].mean() for k in steps])

    def first(self, errors: np.ndarray) -> float:
        """Mean error at the first dark step."""
        return float(errors[self.since == 1].mean()) if np.any(self.since == 1) else float("nan")

    def less_drift(self, errors: np.ndarray, than: Sequence[np.ndarray]) -> float:
        """P(an episode's drift with ``errors`` < one's with any of ``than``); 0.5: no difference."""
        mine = episode_drifts(errors, self.since, self.episode)
        return superiority(-mine, -np.concatenate([episode_drifts(other, self.since, self.episode) for other in than]))

    def one_axis(self) -> str | None:
        """Which axis position varies along, when it hardly varies along the other (a corridor); else None."""
        narrow, wide = sorted(self.spread)
        if wide > 0 and narrow / wide < ONE_AXIS:
            return "xz"[int(np.argmax(self.spread))]
        return None


@dataclass(frozen=True)
class DarkSamples:
    """Where each dark sample lies in the lit run (every replayed step) and in the dark run (the steps shown)."""

    lit_rows: np.ndarray
    dark_rows: np.ndarray
    last_lit_rows: np.ndarray  # the lit row of the episode's last lit step
    since: np.ndarray
    episode: np.ndarray


def dark_samples(trials: Sequence[ReplayedTrial], darkness: Darkness) -> DarkSamples:
    """The dark samples of ``trials`` (in order, as the replay runs them) under ``darkness``."""
    lit, dark, last, since, episode = [], [], [], [], []
    lit_offset = dark_offset = 0
    for index, trial in enumerate(trials):
        shown = darkness.shown(trial.length)
        steps = np.arange(darkness.after, shown)
        lit.append(lit_offset + steps)
        dark.append(dark_offset + steps)
        last.append(np.full(len(steps), lit_offset + darkness.after - 1))
        since.append(steps - darkness.after + 1)
        episode.append(np.full(len(steps), index))
        lit_offset, dark_offset = lit_offset + trial.length, dark_offset + shown
    return DarkSamples(*(np.concatenate(parts).astype(int) for parts in (lit, dark, last, since, episode)))


def path_integration(trials: Sequence[ReplayedTrial], darkness: Darkness, port: str, positions: np.ndarray,
                     lit: Sequence[Mapping[str, np.ndarray]],
                     dark: Sequence[Mapping[str, np.ndarray]]) -> PathIntegration:
    """Decode ``port`` in the dark, for the trained brain (first of ``lit`` and ``dark``) and the untrained ones.

    ``positions`` ``[N, 2]`` are the true (x, z) of every replayed step; ``lit`` holds each brain's activity over
    them, ``dark`` over the steps :meth:`Darkness.view` shows.
    """
    samples = dark_samples(trials, darkness)
    groups = np.concatenate([np.full(trial.length, index) for index, trial in enumerate(trials)])
    truth = positions[samples.lit_rows]
    decodings = []
    for shown, unseen in zip(lit, dark):
        features = shown[port]
        both = np.concatenate([features[samples.lit_rows], unseen[port][samples.dark_rows]])
        decoded, alpha = decode_out_of_fold(features, positions, groups, both, np.tile(samples.episode, 2))
        errors = np.linalg.norm(decoded - np.tile(truth, (2, 1)), axis=1)
        decodings.append(Decoding(errors[len(truth):], errors[:len(truth)], alpha))
    still = np.linalg.norm(truth - positions[samples.last_lit_rows], axis=1)
    others = np.stack([positions[groups != index].mean(0) for index in range(len(trials))])
    chance = np.linalg.norm(truth - others[samples.episode], axis=1)
    return PathIntegration(darkness, port, samples.since, samples.episode, decodings[0], tuple(decodings[1:]), still,
                           chance, positions.std(0), len(positions))
