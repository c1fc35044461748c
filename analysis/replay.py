"""Untrained brains of the recorded connectome, shown what the recorded brain saw: the control of the cells page.

A random network looking along a corridor is already tuned to position (what it sees changes along
the way), so a unit that beats its own time-shifted shuffles need not have learned anything. The
control is the same connectome untrained, several seeds, shown the same observations in the same
order; :mod:`analysis.controls` compares the two brains' units.

A recording holds each episode's task, the true pose at every step, the actions and the rewards,
but not the simulator's state at its start (training records every K-th episode of environments
that run on from one seeded reset). An episode is therefore **replayed**: the task's trial starts at
the recorded first pose, with a target the task can have (``MazeEnv.reset(options={"start",
"target"})``), the recorded actions are taken, and the replay must pass through every recorded pose
and receive every recorded reward. Then it showed the recorded observations (the view follows from
the pose, the food still there and the cue; the food from the rewards, the cue from the target). An
episode whose replay leaves the recorded path (a run on Unity, another simulator version) is left
out of the comparison, and the page says which and why. Where several targets replay an episode of
a cue task alike (no bonus told them apart), the cue shape the untrained brains saw may differ from
the recorded one; the page counts those episodes.

The untrained brains act in the mode the recorded one did: training sessions act in training mode
(the entorhinal read-outs' dropout on), evaluations and other sessions in evaluation mode. Their
hippocampal memory starts empty. A training run with ``--seed s`` starts from the untrained brain
of seed ``s``, so the controls of seeds ``0 .. K-1`` include that run's own starting point when
``s < K``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

import tasks
from brain.connectome import Connectome
from brain.engine import Brain
from brain.errors import ConnectomeError
from brain.recording import Episode, Recording
from brain.training.environment import ConnectomeInputs
from brain.training.rundir import RunDirError, read_config
from tasks.rules import possible_targets, task_spec

#: Untrained brains per analysis unless ``--controls`` says otherwise.
DEFAULT_CONTROLS = 3
#: How closely a replay must follow the recorded pose (metres, radians; the pose is stored as float32).
POSITION_TOLERANCE, HEADING_TOLERANCE = 1e-3, 1e-3
#: How closely it must receive the recorded rewards (a tick's time penalty is 0.001).
REWARD_TOLERANCE = 1e-4
#: Steps an untrained brain runs at once (``Brain.rollout``): their observations are held in memory (84 x 84 RGB:
#: about 25 kB a step).
CHUNK_STEPS = 256


@dataclass(frozen=True)
class ReplayedTrial:
    """A recorded episode that the simulator replays along its recorded path."""

    position: int  # in the recording's index
    task: str
    start: tuple[float, float, int]  # x, z (metres), yaw (degrees)
    target: str | None
    alike: int  # targets that replay it alike (more than one in a cue task: the cue shown is undetermined)
    length: int  # recorded steps

    @property
    def cue_undetermined(self) -> bool:
        return self.alike > 1 and task_spec(self.task).cue is not None


@dataclass
class Replay:
    """Which episodes replay along their recorded path, which do not and why, and how the simulator was set up."""

    simulator: str
    settings: dict  # tasks.make keyword arguments (simulator_settings)
    trials: list[ReplayedTrial] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def episodes(self) -> list[int]:
        return [trial.position for trial in self.trials]

    def summary(self) -> str:
        """One line for the page: how many episodes replayed, which not and why, undetermined cues."""
        total = len(self.trials) + len(self.failed)
        text = f"{len(self.trials)} of {total} episodes replayed along their recorded path ({self.simulator})"
        if self.failed:
            reasons = "; ".join(f"episode {position}: {why}" for position, why in list(self.failed.items())[:3])
            more = f"; {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            text += f"; left out of the comparison: {reasons}{more}"
        undetermined = sum(trial.cue_undetermined for trial in self.trials)
        if undetermined:
            text += (f"; in {undetermined} cue-task episodes no reward told the target apart, so the cue shape the "
                     f"untrained brains saw may differ from the recorded one")
        return text


def simulator_settings(path: Path) -> tuple[dict, str]:
    """``tasks.make`` keyword arguments of the run that recorded ``path`` (a run directory or an ``.h5`` in one),
    and how they were found. Only ``ticks_per_step`` is a setting; image sizes come from the connectome."""
    run_dir = path if path.is_dir() else path.parent
    try:
        cfg = read_config(run_dir)
    except (RunDirError, ConnectomeError):
        return {"ticks_per_step": 10}, "embedded simulator, 10 ticks per step (the default: no readable config.yaml)"
    where = "a Unity run replayed on the embedded simulator" if cfg.env == "unity" else "embedded simulator"
    return {"ticks_per_step": cfg.ticks_per_step}, f"{where}, {cfg.ticks_per_step} ticks per step (config.yaml)"


def recorded_start(pose: np.ndarray) -> tuple[float, float, int]:
    """The trial's start pose from the first recorded pose: float32 rounded back to the rules' values
    (whole centimetres and degrees are all they use)."""
    return round(float(pose[0]), 4), round(float(pose[1]), 4), int(round(float(np.degrees(pose[2]))))


def divergence(env, episode: Episode, start: tuple[float, float, int], target: str | None) -> str | None:
    """Where replaying ``episode`` from ``start`` with ``target`` leaves the recorded path; None when it does not."""
    poses, actions, rewards = episode.pose.astype(float), episode.action, episode.reward.astype(float)
    _, info = env.reset(seed=0, options={"start": start, "target": target})
    for step in range(episode.length):
        pose = np.asarray(info["pose"], dtype=float)
        turn = (pose[2] - poses[step, 2] + np.pi) % (2 * np.pi) - np.pi
        if np.abs(pose[:2] - poses[step, :2]).max() > POSITION_TOLERANCE or abs(turn) > HEADING_TOLERANCE:
            return (f"pose ({pose[0]:.2f}, {pose[1]:.2f}, {np.degrees(pose[2]):.0f} deg) at step {step}, "
                    f"recorded ({poses[step, 0]:.2f}, {poses[step, 1]:.2f}, {np.degrees(poses[step, 2]):.0f} deg)")
        _, reward, terminated, truncated, info = env.step(int(actions[step]))
        if abs(reward - rewards[step]) > REWARD_TOLERANCE:
            return f"reward {reward:+.3f} after step {step}, recorded {rewards[step]:+.3f}"
        if (terminated or truncated) and step < episode.length - 1:
            return f"the trial ended at step {step}, recorded {episode.length} steps"
    return None


def replay_trial(env, episode: Episode, position: int) -> ReplayedTrial | str:
    """The trial that replays ``episode`` (the first of its possible targets that does), or why none does."""
    start = recorded_start(episode.pose[0])
    found, why = [], ""
    for target in possible_targets(task_spec(episode.task)):
        reason = divergence(env, episode, start, target)
        if reason is None:
            found.append(target)
        else:
            why = why or reason
    if not found:
        return f"its replay left the recorded path: {why}"
    return ReplayedTrial(position, episode.task, start, found[0], len(found), episode.length)


class Environments:
    """One simulator per task, made on first use: headless ones to check replays, seeing ones to show them."""

    def __init__(self, settings: dict, input_shapes: dict):
        self.settings, self.keys = settings, tuple(input_shapes)
        if "rgb" in input_shapes:
            self.settings = {**self.settings, "rgb_size": input_shapes["rgb"][-1]}
        if "depth" in input_shapes:
            self.settings = {**self.settings, "depth_size": input_shapes["depth"][-1]}
        self._made: dict[tuple[str, bool], ConnectomeInputs] = {}

    def get(self, task: str, *, seeing: bool) -> ConnectomeInputs:
        if (task, seeing) not in self._made:
            env = tasks.make(task, render_observations=seeing, **self.settings)
            self._made[task, seeing] = ConnectomeInputs(env, self.keys)
        return self._made[task, seeing]


def untrained_brains(connectome: Connectome, seeds: Sequence[int]) -> list[Brain]:
    """The recorded connectome (``analysis.recordings.recorded_connectome``: lesions included) built afresh with
    each of ``seeds`` (torch's seed before building)."""
    brains = []
    for seed in seeds:
        torch.manual_seed(seed)
        brains.append(Brain(connectome))
    return brains


def replay(recording: Recording, path: Path, episodes: Sequence[int], input_shapes: dict) -> Replay:
    """Which of ``episodes`` (index positions) the simulator replays along their recorded path, for a brain
    with ``input_shapes`` (``Brain.input_shapes``: the image sizes)."""
    settings, simulator = simulator_settings(path)
    environments = Environments(settings, input_shapes)
    result = Replay(simulator, settings)
    for position in episodes:
        episode = recording.episode(position)
        trial = replay_trial(environments.get(episode.task, seeing=False), episode, position)
        if isinstance(trial, str):
            result.failed[position] = trial
        else:
            result.trials.append(trial)
    return result


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread meanwhile, as the trainer's workers. Small operations (a brain's step, a GRU step, a
    solve of a few hundred unknowns) on two threads of a busy 2-core machine wait on each other: measured, a
    wba brain's step 12 ms on two threads and 1.9 ms on one; a 257-unknown solve 119 ms in numpy's threaded BLAS
    and 3.5 ms in torch on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


#: What a brain is shown at a step of a replayed episode, ``(trial, step, ports) -> ports``, or None to end the
#: episode there (the steps after it are not shown). The default shows every step as the simulator renders it.
View = Callable[[ReplayedTrial, int, dict[str, np.ndarray]], "dict[str, np.ndarray] | None"]


def _shown(trial: ReplayedTrial, step: int, ports: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return ports


def _replayed_steps(recording: Recording, result: Replay, environments: Environments,
                    view: View) -> Iterator[tuple[dict[str, np.ndarray], bool, bool]]:
    """The steps of the replayed episodes in order, as ``view`` shows them: the observation ports, whether the step
    starts an episode, and whether the recorded brain acted in training mode (a training session) then."""
    for trial in result.trials:
        episode = recording.episode(trial.position)
        session = recording.sessions[episode.session] if episode.session < len(recording.sessions) else {}
        env, actions = environments.get(trial.task, seeing=True), episode.action
        obs, _ = env.reset(seed=0, options={"start": trial.start, "target": trial.target})
        for step in range(episode.length):
            ports = view(trial, step, obs)
            if ports is None:
                break
            yield ports, step == 0, session.get("kind") == "train"
            if step < episode.length - 1:
                obs, *_ = env.step(int(actions[step]))


def _chunks(steps: Iterator[tuple[dict[str, np.ndarray], bool, bool]],
            size: int) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor, bool]]:
    """Up to ``size`` steps at a time, in one mode: ports ``[T, 1, ...]``, resets ``[T, 1]``, training mode."""
    batch: list[tuple[dict[str, np.ndarray], bool]] = []
    mode = None
    for obs, start, training in steps:
        if batch and (len(batch) == size or training != mode):
            yield _stacked(batch), torch.tensor([[s] for _, s in batch]), bool(mode)
            batch = []
        batch.append((obs, start))
        mode = training
    if batch:
        yield _stacked(batch), torch.tensor([[s] for _, s in batch]), bool(mode)


def _stacked(batch: list[tuple[dict[str, np.ndarray], bool]]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([obs[key] for obs, _ in batch])[:, None]) for key in batch[0][0]}


@torch.inference_mode()
def replayed_activity(recording: Recording, result: Replay, brains: Sequence[Brain], keys: Sequence[str],
                      view: View = _shown) -> list[dict[str, np.ndarray]]:
    """Per brain, ``{key: [T, units]}`` over the replayed episodes laid end to end (in ``result.trials`` order),
    raw (not shifted); ``view`` changes what the brains are shown (the dark of :mod:`analysis.darkness`).

    The actions are the recorded ones, not the brains' choices, so what they see does not depend on
    them: each brain runs ``Brain.rollout`` (equal to step-by-step acting, the stateless
    regions folded over time) over :data:`CHUNK_STEPS` steps at a time, its state carried on and reset
    at each episode's start, as when acting. On one torch thread, as the trainer's workers: measured on
    the 2-core machine under load (``python benchmarks/cells_control.py``), 1.9 ms per step of the wba
    brain on one thread, 12 ms on two, and 5.3 ms stepping it one step at a time.
    """
    environments = Environments(result.settings, dict(brains[0].input_shapes))
    states = [brain.initial_state(1) for brain in brains]
    per_brain: list[list[np.ndarray]] = [[] for _ in brains]
    with one_thread():
        for ports, resets, training in _chunks(_replayed_steps(recording, result, environments, view), CHUNK_STEPS):
            for index, brain in enumerate(brains):
                brain.train(training)
                output = brain.rollout(ports, states[index], resets)
                states[index] = output.state
                per_brain[index].append(torch.cat([output.activity[key][:, 0].flatten(1) for key in keys],
                                                  1).numpy())
    shapes = brains[0].output_shapes()
    bounds = np.cumsum([0, *(int(np.prod(shapes[key])) for key in keys)])
    return [{key: np.concatenate(chunks)[:, bounds[i]:bounds[i + 1]] for i, key in enumerate(keys)}
            for chunks in per_brain]
