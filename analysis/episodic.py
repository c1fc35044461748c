"""The episodic memory measured in a recording: what its lookups recall, and how well its read-out predicts returns.

The hippocampal memory (:class:`regions.dnd.DND`) is a store of (key, return) pairs per action,
written by reverse replay after every rollout and read by k-nearest neighbours at every step. A
recording holds its traffic (:mod:`brain.recording.memory`); over the recorded lookups of one maze:

* **Recall.** Per lookup, the share of the ``k`` neighbours of the taken action's memory whose key was
  formed within ``radius`` metres of where the agent is now, in the same maze (default one rate-map
  bin, 1 m: one maze cell). Control: the same share for ``k`` entries drawn at random from the same
  memory at the same moment, which says how much of the memory lies that close anyway. Effect size:
  the probability that a lookup's share exceeds its control's (paired; ties count half; 0.5: no
  difference). Lookups of one episode are not independent, so significance is a sign test over
  episodes (each episode's mean share against its mean control). Beside it: the share of neighbours
  that the same episode wrote (training episodes, whose writes are recorded).
* **Value.** The read-out for the taken action against the discounted return that followed in the
  episode (the quantity the written returns estimate; gamma as the run trained with): Pearson r and
  the mean absolute error, against the same read-outs paired with the returns of shuffled steps
  (:data:`SHUFFLES` permutations). The critic's value at the same steps is given beside it.

Lookups of an empty memory (nothing to recall, the read-out is 0) are left out and counted; so are
neighbours whose place is unknown (written before places were kept). The memory's writes are
counted for the replay row: the model's "replay" is NEC-style reverse computation of returns along
each rollout, written after the update; the brain has no offline dynamics, so nothing reactivates.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from analysis.recordings import maze_of
from analysis.report import table_figure
from brain.recording import Recording
from tasks.geometry import MAZE_NAMES

#: Shuffled pairings of read-outs and returns, the control of the value accuracy.
SHUFFLES = 1000


def near_shares(query: np.ndarray, maze: np.ndarray, positions: np.ndarray, mazes: np.ndarray,
                radius: float) -> np.ndarray:
    """Per lookup, the share of its entries of known place that lie within ``radius`` of ``query`` in its maze.

    ``query [n, 2]`` (x, z), ``maze [n]`` (index of the query's maze), ``positions [n, k, 2]``, ``mazes [n, k]``
    (-1: no entry, or its place unknown). NaN for a lookup without an entry of known place.
    """
    known = (mazes >= 0) & np.isfinite(positions).all(-1)
    distance = np.linalg.norm(positions.astype(float) - query[:, None, :], axis=-1)
    near = known & (mazes == maze[:, None]) & (distance <= radius)
    counts = known.sum(1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, near.sum(1) / np.maximum(counts, 1), np.nan)


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = sum_{j >= t} gamma^(j - t) r_j`` to the end of the episode, for each step."""
    returns, running = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = float(rewards[t]) + gamma * running
        returns[t] = running
    return returns


def sign_test(wins: int, trials: int) -> float:
    """Two-sided binomial p-value of ``wins`` of ``trials`` under chance 1/2 (1 when there are no trials)."""
    if not trials:
        return 1.0
    extreme = max(wins, trials - wins)
    return min(1.0, 2 * sum(comb(trials, i) for i in range(extreme, trials + 1)) / 2 ** trials)


@dataclass(frozen=True)
class Recall:
    """Per lookup with a neighbour of known place: its near share, its control's and its episode."""

    share: np.ndarray
    control: np.ndarray
    episode: np.ndarray  # the episode (position in the index) of each lookup
    radius: float

    @property
    def lookups(self) -> int:
        return len(self.share)

    def effect(self) -> float:
        """P(a lookup's share > its control's), ties half: 0.5 no difference, 1 every lookup above."""
        difference = self.share - self.control
        return float(np.mean((difference > 0) + 0.5 * (difference == 0))) if self.lookups else float("nan")

    def by_episode(self) -> tuple[int, int, float]:
        """Episodes whose mean share beats their mean control, episodes that differ, and the sign test's p."""
        wins = trials = 0
        for episode in np.unique(self.episode):
            mine = self.episode == episode
            difference = self.share[mine].mean() - self.control[mine].mean()
            wins, trials = wins + int(difference > 0), trials + int(difference != 0)
        return wins, trials, sign_test(wins, trials)


@dataclass(frozen=True)
class ValueAccuracy:
    """The memory's read-outs against the realised returns, and the same with the pairings shuffled."""

    read_out: np.ndarray
    returns: np.ndarray
    critic: np.ndarray  # the critic's value at the same steps
    shuffled_r: np.ndarray  # [SHUFFLES]
    shuffled_mae: np.ndarray

    @classmethod
    def measure(cls, read_out: np.ndarray, returns: np.ndarray, critic: np.ndarray, seed: int) -> ValueAccuracy:
        rng = np.random.default_rng(seed)
        shuffled = [rng.permutation(returns) for _ in range(SHUFFLES if len(returns) > 2 else 0)]
        return cls(read_out, returns, critic, np.array([_pearson(read_out, s) for s in shuffled]),
                   np.array([np.abs(read_out - s).mean() for s in shuffled]))

    @property
    def steps(self) -> int:
        return len(self.returns)

    @property
    def r(self) -> float:
        return _pearson(self.read_out, self.returns)

    @property
    def mae(self) -> float:
        return float(np.abs(self.read_out - self.returns).mean()) if self.steps else float("nan")

    def p(self) -> float:
        """One-sided permutation p of r: the share of shuffled pairings correlating as well or better."""
        return float((1 + (self.shuffled_r >= self.r).sum()) / (1 + len(self.shuffled_r)))

    def critic_figures(self) -> tuple[float, float]:
        """The critic's r and mean absolute error against the same returns."""
        return _pearson(self.critic, self.returns), float(np.abs(self.critic - self.returns).mean())


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class Episodic:
    """The memory's traffic in the recorded episodes of one maze, measured.

    ``empty``: lookups of an empty memory (left out of both measures); ``unplaced``: lookups whose
    neighbours' places are all unknown (left out of the recall); ``same_episode``: per recall lookup
    of a training episode, the share of its neighbours written by that episode (NaN in evaluations).
    """

    maze: str
    episodes: int
    lookups: int
    empty: int
    unplaced: int
    recall: Recall
    same_episode: np.ndarray
    value: ValueAccuracy | None  # None: the recording does not say the discount
    writes: int  # recorded steps whose return reverse replay wrote into the memory
    training_steps: int  # recorded steps of training sessions (the ones that write)


def measure_memory(recording: Recording, episodes: Sequence[int], radius: float, seed: int = 0) -> Episodic | str:
    """The memory's recall and value accuracy over ``episodes`` (positions in the index, one maze), or why they
    cannot be measured in this recording."""
    if not recording.spec.memory:
        return ("the memory's traffic is not recorded in this run (a recording before format version 3, or a brain "
                "without a memory)")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("share", "control", "episode", "same", "read_out",
                                                                  "returns", "critic")}
    counts = {"lookups": 0, "empty": 0, "unplaced": 0, "writes": 0, "training": 0, "undiscounted": 0}
    maze = maze_of(recording.index["task"][episodes[0]].decode())[0]
    for position in episodes:
        _add_episode(recording, position, MAZE_NAMES.index(maze), radius, parts, counts)
    joined = {name: np.concatenate(values) if values else np.zeros(0) for name, values in parts.items()}
    recall = Recall(joined["share"], joined["control"], joined["episode"], radius)
    value = None if counts["undiscounted"] else ValueAccuracy.measure(joined["read_out"], joined["returns"],
                                                                        joined["critic"], seed)
    return Episodic(maze, len(episodes), counts["lookups"], counts["empty"], counts["unplaced"], recall,
                    joined["same"], value, counts["writes"], counts["training"])


def _add_episode(recording: Recording, position: int, maze: int, radius: float, parts: dict[str, list[np.ndarray]],
                 counts: dict[str, int]) -> None:
    """One episode's lookups and writes, added to ``parts`` and ``counts`` (see :func:`measure`)."""
    episode = recording.episode(position)
    session = recording.sessions[episode.session] if episode.session < len(recording.sessions) else {}
    ids, written = episode.memory("neighbour_id"), episode.memory("written_id")
    found = (ids >= 0).any(1)
    query, mazes = episode.pose[:, :2].astype(float), np.full(episode.length, maze)
    share = near_shares(query, mazes, episode.memory("neighbour_position"), episode.memory("neighbour_maze"), radius)
    control = near_shares(query, mazes, episode.memory("random_position"), episode.memory("random_maze"), radius)
    placed = found & np.isfinite(share) & np.isfinite(control)
    training = session.get("kind") == "train"
    same = np.isin(ids, written[written >= 0]).sum(1) / np.maximum((ids >= 0).sum(1), 1)
    parts["share"].append(share[placed])
    parts["control"].append(control[placed])
    parts["episode"].append(np.full(int(placed.sum()), position))
    parts["same"].append(same[placed] if training else np.full(int(placed.sum()), np.nan))
    counts["lookups"] += episode.length
    counts["empty"] += int((~found).sum())
    counts["unplaced"] += int((found & ~placed).sum())
    counts["writes"] += int((written >= 0).sum())
    counts["training"] += episode.length if training else 0
    gamma = session.get("gamma")
    if gamma is None:
        counts["undiscounted"] += 1
        return
    parts["read_out"].append(episode.memory("value")[found].astype(float))
    parts["returns"].append(discounted_returns(episode.reward, float(gamma))[found])
    parts["critic"].append(episode.value[found].astype(float))


# --- how the page and the checklist say it ---------------------------------------------------------------------
def _share_text(values: np.ndarray) -> str:
    return f"{np.mean(values):.0%}" if len(values) else "-"


def recall_text(result: Episodic) -> str:
    """The recall in a sentence: shares, control, effect size, episodes, samples."""
    recall = result.recall
    if result.empty == result.lookups:
        return f"no recall measured: the memory was empty at all {result.lookups} lookups (nothing to recall)"
    if not recall.lookups:
        return f"no recall measured: no lookup of the {result.lookups} found an entry of known place"
    wins, trials, p = recall.by_episode()
    episodes = len(np.unique(recall.episode))
    tied = f", {episodes - trials} tied" if trials < episodes else ""
    return (f"{_share_text(recall.share)} of the neighbours were written within {recall.radius:g} m of the "
            f"agent's place, against {_share_text(recall.control)} of random entries of the same memory "
            f"(P(lookup above its control) {recall.effect():.2f}; episode mean above its control's in {wins} of "
            f"{trials}{tied}, sign test p {p:.2g}; {recall.lookups} lookups in {episodes} episodes"
            f"{_left_out(result)})")


def _left_out(result: Episodic) -> str:
    parts = [f"{count} {why} left out" for count, why in ((result.empty, "lookups of an empty memory"),
                                                          (result.unplaced, "without a neighbour of known place"))
             if count]
    return "; " + ", ".join(parts) if parts else ""


def value_text(result: Episodic) -> str:
    """The value accuracy in a sentence, against the shuffled pairings."""
    value = result.value
    if value is None:
        return "value accuracy not measured: the recording does not say the discount (sessions without gamma)"
    if value.steps < 3:
        return f"value accuracy not measured: {value.steps} lookups found an entry (3 needed)"
    r = f"{value.r:.2f}" if np.isfinite(value.r) else "- (constant)"
    return (f"read-out vs the discounted return that followed: r {r} (shuffled pairings' 95th percentile "
            f"{np.percentile(value.shuffled_r, 95):.2f}, p {value.p():.2g}), mean absolute error {value.mae:.3f} "
            f"(shuffled {value.shuffled_mae.mean():.3f}) over {value.steps} steps")


def memory_row(findings: Episodic | str) -> str:
    """The checklist's "episodic memory" row (``findings``: the measures, or why there are none)."""
    if isinstance(findings, str):
        return f"not measured: {findings}"
    return f"maze {findings.maze}: {recall_text(findings)} | {value_text(findings)}"


def _writes_text(findings: Episodic | str) -> str:
    if isinstance(findings, str):
        return f"writes not counted: {findings}"
    if not findings.training_steps:
        return "no training step recorded here: only training writes the memory"
    return (f"{findings.writes} of {findings.training_steps} recorded training steps written "
            f"({findings.writes / findings.training_steps:.0%})")


def replay_row(findings: Episodic | str) -> str:
    """The checklist's "replay" row: what the model has (its writes counted) and what it does not."""
    return (f"NEC-style reverse replay: after each rollout's update, returns computed backwards along the rollout "
            f"are written into the hippocampal memory ({_writes_text(findings)}) | no offline reactivation: the "
            f"brain has no offline dynamics (it runs only while acting, and in the training pass over the rollout "
            f"just acted), so reverse replay of activity is not modelled")


def episodic_figure(findings: Episodic | str) -> go.Figure | None:
    """The page's table of the memory's measures (None when the recording holds no memory traffic)."""
    if isinstance(findings, str):
        return None
    recall, value = findings.recall, findings.value
    rows = [["recall: neighbours written within the radius", _share_text(recall.share),
             f"random entries: {_share_text(recall.control)}", recall_text(findings)],
            ["recall: neighbours written by the same episode", _share_text(findings.same_episode[
                np.isfinite(findings.same_episode)]), "-", "training episodes only (their writes are recorded)"],
            ["value: read-out vs discounted return", "-" if value is None else f"r {value.r:.2f}, MAE {value.mae:.3f}",
             "-" if value is None or not len(value.shuffled_r) else
             f"shuffled: r {value.shuffled_r.mean():.2f}, MAE {value.shuffled_mae.mean():.3f}", value_text(findings)]]
    if value is not None and value.steps >= 3:
        critic_r, critic_mae = value.critic_figures()
        rows.append(["context: the critic's value vs the same returns", f"r {critic_r:.2f}, MAE {critic_mae:.3f}",
                     "-", f"{value.steps} steps"])
    rows.append(["reverse-replay writes", f"{findings.writes}", "-", _writes_text(findings)])
    title = (f"Episodic memory: recall and value, maze {findings.maze}, {findings.episodes} episodes, "
             f"{findings.lookups} lookups<br><sup>radius {recall.radius:g} m (--bin-size); control: k entries "
             f"drawn at random from the same memory at each lookup, and shuffled step pairings</sup>")
    return table_figure(["measure", "memory", "control", "reading"], rows, title, [1.6, 1.0, 1.4, 5.0])
