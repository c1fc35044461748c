"""Evaluate a trained brain: ``python -m brain.evaluate RUN_DIR --task 1-3 --episodes 100``.

Loads the run's resolved connectome, config and checkpoint (weights and hippocampal memory),
plays whole episodes without learning, and prints the success rate and the mean episode length,
with the policy sampled (default, as in training) or greedy (``--greedy``). ``--record`` records
every step of every episode (all region activity, pose, action, reward, value, TD error) to
``RUN_DIR/eval-<task>.h5`` or a given path, appending to an existing file as a new session.
``--lesion REGION=MODE`` (repeatable) silences a region of the trained brain (``silence``) or a
fraction of its output units (``0.5``); the printed result, the recording's connectome and its
session name the lesions, and a lesioned evaluation records to ``eval-<task>-<region>-<mode>.h5``.
``remove`` is refused: without the region, the regions it fed have other input widths than the
trained weights.
``--envs-per-worker N`` plays N episodes side by side with one batched brain step.
``--probe`` (the water maze) makes every trial a probe trial (Morris 1984): the platform removed,
the full 60 s from the usual wall starts, and prints the time share of the platform's quadrant
against chance and the crossings of its site against the other quadrants' sites
(:mod:`analysis.probe`).
A run trained on Unity evaluates on Unity, on the port of worker id ``--unity-worker-id`` (default:
the first port its training environments do not use, so an evaluation can run beside the training).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

import numpy as np
import torch
from tqdm import tqdm

from analysis.probe import ProbeSummary, summarise, text
from brain.argtypes import number
from brain.connectome import load_connectome
from brain.errors import ConnectomeError
from brain.recording import EpisodeBuffer, RecordingError, RecordingFile, RecordingSpec, prepare
from brain.training.a3c import attach_memory
from brain.training.acting import EnvironmentBatch, act, greedy_actions, sample_actions
from brain.training.config import TrainConfig, lesion_item
from brain.training.rundir import RunDirError, load_checkpoint, read_config
from tasks.arena import ARENA_TASKS
from tasks.probe import ProbeResult
from tasks.unity import UnityWorkerError

if TYPE_CHECKING:
    from brain.engine import Brain


@dataclass
class EpisodeResult:
    task: str
    steps: int
    ret: float
    success: bool
    probe: ProbeResult | None = None  # a probe trial's measures


@torch.inference_mode()
def play_episodes(brain, envs: EnvironmentBatch, episodes: int, greedy: bool,
                  recording: RecordingFile | None = None, trained_steps: int = 0) -> Iterator[EpisodeResult]:
    """Play ``episodes`` whole episodes with ``brain`` (no learning), all environments of ``envs`` at once.

    Yields each result as its episode ends (in the order they end). An environment starts a new
    episode while fewer than ``episodes`` have started, then waits idle until the others finish.
    With ``recording``, every step of every episode is recorded (episodes numbered as they end).
    """
    n = len(envs)
    state = brain.initial_state(n)
    started = min(n, episodes)
    active = np.arange(n) < started
    buffers = [_buffer(recording, i) if active[i] else None for i in range(n)]
    steps, returns, finished = np.zeros(n, dtype=np.int64), np.zeros(n), 0
    choose = greedy_actions if greedy else sample_actions
    while finished < episodes:
        step, state = act(brain, envs, state, choose, buffers, rows=np.flatnonzero(active))
        steps[active] += 1
        returns[active] += step.rewards[active]
        for index in np.flatnonzero(step.dones):
            info = envs.infos[index]
            result = EpisodeResult(info["task"], int(steps[index]), float(returns[index]), bool(info.get("success")),
                                   info.get("probe"))
            if buffers[index] is not None:
                recording.append(buffers[index].finish(episode=finished, worker=0, env=int(index), task=result.task,
                                                       success=result.success, global_step=trained_steps))
            finished += 1
            yield result
            steps[index], returns[index] = 0, 0.0
            active[index] = started < episodes
            if active[index]:
                started += 1
                envs.reset(index)
                buffers[index] = _buffer(recording, started - 1)


def _buffer(recording: RecordingFile | None, number: int) -> EpisodeBuffer | None:
    """A buffer for the ``number``-th episode started (its number seeds the memory's control), when recording."""
    return None if recording is None else EpisodeBuffer(recording.spec.buffered_keys, recording.spec.memory, number)


Lesions = Mapping[str, str | float]


def check_lesions(connectome: Path, lesions: Lesions) -> None:
    """Refuse lesions that a trained brain cannot take: a ValueError naming the flag and the fix.

    ``remove`` builds the brain without the region (or connection), which changes the input widths
    of the regions it fed, so the trained weights no longer fit; a region removed in training has
    no weights to silence.
    """
    for target, mode in lesions.items():
        if mode == "remove":
            instead = (f"silence it (--lesion {target}=silence: outputs zero, trained weights kept)" if "." not in target
                       else "silence its source region")
            raise ValueError(f"--lesion {target}=remove: removing changes the shapes of the trained weights, so a "
                             f"trained brain cannot be evaluated without it; {instead}, or train without it "
                             f"(python -m brain.run --lesion {shlex.quote(f'{target}=remove')})")
    removed = [name for name, mode in load_connectome(str(connectome)).lesions.items() if mode == "remove"]
    trained_without = [target for target in lesions if target in removed]
    if trained_without:
        raise ValueError(f"--lesion {trained_without[0]}={lesions[trained_without[0]]}: {trained_without[0]} was "
                         f"removed in training ({connectome}); it has no weights to lesion, leave the flag out")


def load_trained_brain(run_dir: Path, lesions: Lesions | None = None) -> tuple[Brain, TrainConfig, int]:
    """A run directory's brain (checkpointed weights and memory, eval mode) with ``lesions`` on top of the
    trained connectome's (:func:`check_lesions`), its config and trained steps."""
    from brain.engine import Brain

    connectome = run_dir / "connectome.yaml"
    if not connectome.is_file():
        raise RunDirError(f"{run_dir}: no connectome.yaml here; give the directory a training run wrote "
                          f"(python -m brain.run --out {run_dir})")
    if lesions:
        check_lesions(connectome, lesions)
    brain = Brain.from_connectome(str(connectome), lesions=lesions)
    payload = load_checkpoint(run_dir, brain)
    brain.load_state_dict(payload["brain"])
    region = next((r for r in brain.regions.values() if r.holds_memory), None)
    if region is not None and payload.get("memory") is not None:
        memory = region.make_memory()
        memory.load_state_dict(payload["memory"])
        attach_memory(brain, memory)
    return brain.eval(), read_config(run_dir), int(payload["steps"])


def check_probe(task: str) -> None:
    """Refuse ``--probe`` on a task without a platform to remove: a ValueError naming the fix."""
    if task not in ARENA_TASKS or ARENA_TASKS[task].platform is None:
        raise ValueError(f"--probe: task {task!r} has no hidden platform to remove; the probe trial is the water "
                         f"maze's (--task watermaze)")


def evaluate(run_dir: Path, task: str, episodes: int, greedy: bool, seed: int,
             record: Path | None = None, unity_worker_id: int | None = None, envs_at_once: int = 1,
             lesions: Lesions | None = None, probe: bool = False) -> list[EpisodeResult]:
    """Play ``episodes`` trials of ``task`` with the run's brain, lesioned by ``lesions``, ``envs_at_once``
    environments side by side (one batched brain step for all); record them all to ``record``. ``probe``:
    every trial a water-maze probe trial (:func:`check_probe`), its measures in ``EpisodeResult.probe``.

    Only each environment's first reset is seeded: its trials then follow each other as in training, so
    that the tasks whose rules read the trial history (1-1's moving start, the 1-6 / 1-8c cycles)
    evaluate the same thing that training measured. A recording stores the ports that the run's config
    selects (``record_regions``, ``record_float16``, ``record_compression``); its episodes' global
    step is the checkpoint's (how long the brain had trained). ``unity_worker_id``: see the module
    docstring (default ``cfg.workers * cfg.envs_per_worker``; environment ``i`` takes the id after ``i``).
    """
    from brain.training.environment import environment_batch

    if probe:
        check_probe(task)
    brain, cfg, trained_steps = load_trained_brain(run_dir, lesions)
    cfg.task, cfg.curriculum = task, False
    first_id = cfg.workers * cfg.envs_per_worker if unity_worker_id is None else unity_worker_id
    envs = environment_batch(cfg, brain.input_shapes, seed, first_id, envs_at_once,
                             reset_options={"probe": True} if probe else None)
    torch.manual_seed(seed)
    recording = None
    if record is not None:
        session = {"kind": "evaluate", "run": str(run_dir), "task": task, "greedy": greedy, "seed": seed,
                   "global_step": trained_steps, "envs": envs_at_once, "probe": probe, "gamma": cfg.gamma,
                   "lesions": {target: brain.connectome.lesions[target] for target in lesions or {}}}
        recording = _open_recording(record, brain, cfg, session)
    try:
        return list(tqdm(play_episodes(brain, envs, episodes, greedy, recording, trained_steps), total=episodes,
                         desc=f"evaluating {task}"))
    finally:
        envs.close()
        if recording is not None:
            recording.close()


def _open_recording(path: Path, brain, cfg: TrainConfig, session: dict) -> RecordingFile:
    """``path`` prepared for one more session (created, or appended to) and opened for writing."""
    spec = RecordingSpec.for_brain(brain, cfg.record_regions, cfg.record_float16, cfg.record_compression)
    prepare(path, spec, brain.connectome.to_yaml(), brain.connectome.name, session)
    return RecordingFile(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m brain.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="run directory written by python -m brain.run")
    parser.add_argument("--task", default=None, help="task id, e.g. 1-3 (default: the task the run trained on)")
    parser.add_argument("--episodes", type=number(int, 1), default=100, help="episodes to play (default 100)")
    parser.add_argument("--greedy", action="store_true", help="take the most probable action instead of sampling")
    parser.add_argument("--lesion", dest="lesions", action="append", type=lesion_item, default=[],
                        metavar="REGION=MODE", help="lesion the trained brain, on top of its connectome's: MODE is "
                                                    "silence or a fraction in (0, 1) of output units silenced; "
                                                    "repeatable (remove is refused: it changes the weights' shapes)")
    parser.add_argument("--probe", action="store_true",
                        help="the water maze: probe trials, the platform removed for the full 60 s; prints the time "
                             "in the platform's quadrant and the crossings of its site against the other quadrants")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the first reset (default 12345)")
    parser.add_argument("--record", nargs="?", const="", default=None, type=str, metavar="PATH",
                        help="record every step of every episode to PATH (default: RUN_DIR/eval-<task>.h5, "
                             "eval-<task>-<region>-<mode>.h5 with --lesion); "
                             "an existing recording gets the episodes appended as a new session")
    parser.add_argument("--envs-per-worker", type=number(int, 1), default=1, metavar="N",
                        help="environments played side by side, one batched brain step for all, as in training "
                             "(default 1: one episode after the other)")
    parser.add_argument("--unity-worker-id", type=number(int, 0), default=None, metavar="N",
                        help="a run trained on Unity: evaluate on port unity_base_port + N (and the ports after it "
                             "with --envs-per-worker) (default: the first port its training environments do not use)")
    return parser


def lesion_text(lesions: Lesions) -> str:
    """``"ca3=silence, entorhinal=0.5"``, as the flags give them."""
    return ", ".join(f"{target}={mode}" for target, mode in lesions.items())


def default_recording(run_dir: Path, task: str, lesions: Lesions) -> Path:
    """``RUN_DIR/eval-<task>.h5``, with ``-<region>-<mode>`` per lesion: a recording holds one brain."""
    return run_dir / ("-".join([f"eval-{task}", *(f"{target}-{mode}" for target, mode in lesions.items())]) + ".h5")


def probe_summary(results: list[EpisodeResult]) -> ProbeSummary:
    """The probe trials' measures summarised over the episodes (:func:`analysis.probe.summarise`)."""
    return summarise(np.array([r.probe.shares for r in results]), np.array([r.probe.crossings for r in results]))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    lesions = dict(args.lesions)
    try:
        task = args.task or read_config(args.run_dir).task
        record = None if args.record is None else Path(args.record or default_recording(args.run_dir, task, lesions))
        results = evaluate(args.run_dir, task, args.episodes, args.greedy, args.seed, record, args.unity_worker_id,
                           args.envs_per_worker, lesions, args.probe)
    except (RunDirError, RecordingError, UnityWorkerError, FileNotFoundError, ValueError, ConnectomeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    lesioned = f" (lesions: {lesion_text(lesions)})" if lesions else ""
    policy = "greedy" if args.greedy else "sampled"
    if args.probe:
        print(f"task {task} probe{lesioned}, {policy} policy: {text(probe_summary(results))}")
    else:
        print(f"task {task}{lesioned}: success {np.mean([r.success for r in results]):.1%} over {len(results)} "
              f"episodes ({policy} policy); mean steps {np.mean([r.steps for r in results]):.1f}; "
              f"mean return {np.mean([r.ret for r in results]):+.3f}")
    if record is not None:
        print(f"recorded {len(results)} episodes to {record} (read it with brain.recording.open_run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
